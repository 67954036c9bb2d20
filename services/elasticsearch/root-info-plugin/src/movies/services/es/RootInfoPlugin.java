package movies.services.es;

import java.util.Collection;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.elasticsearch.Build;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.xcontent.XContentBuilder;

/**
 * The Maven Central "integ-test-zip" Elasticsearch distribution ships without the module that
 * serves {@code GET /} (the node info/banner that clients use to read the server version).
 * This tiny plugin, built by scripts/services against the unpacked distribution, answers
 * {@code GET /} and {@code HEAD /} with this node's real name, cluster and build information.
 * Everything else is served by the stock Elasticsearch node.
 */
public class RootInfoPlugin extends Plugin implements ActionPlugin {

    private volatile ClusterService clusterService;

    @Override
    public Collection<?> createComponents(final PluginServices services) {
        this.clusterService = services.clusterService();
        return List.of();
    }

    @Override
    public Collection<RestHandler> getRestHandlers(final RestHandlersServices services,
            final Supplier<DiscoveryNodes> nodesInCluster, final Predicate<NodeFeature> clusterSupportsFeature) {
        return List.of(new RootInfoHandler());
    }

    private final class RootInfoHandler extends BaseRestHandler {

        @Override
        public String getName() {
            return "movies_root_info_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(final RestRequest request,
                final org.elasticsearch.client.internal.node.NodeClient client) {
            final boolean head = request.method() == RestRequest.Method.HEAD;
            return channel -> {
                final XContentBuilder b = channel.newBuilder();
                final Build build = Build.current();
                final ClusterService cs = clusterService;
                b.startObject();
                if (cs != null) {
                    b.field("name", cs.getNodeName());
                    b.field("cluster_name", cs.getClusterName().value());
                    b.field("cluster_uuid", cs.state().metadata().clusterUUID());
                }
                b.startObject("version");
                b.field("number", build.qualifiedVersion());
                b.field("build_flavor", build.flavor());
                b.field("build_type", build.type().displayName());
                b.field("build_hash", build.hash());
                b.field("build_date", build.date());
                b.field("build_snapshot", build.isSnapshot());
                b.field("lucene_version", org.apache.lucene.util.Version.LATEST.toString());
                b.field("minimum_wire_compatibility_version", build.minWireCompatVersion());
                b.field("minimum_index_compatibility_version", build.minIndexCompatVersion());
                b.endObject();
                b.field("tagline", "You Know, for Search");
                b.endObject();
                if (head) {
                    channel.sendResponse(new RestResponse(RestStatus.OK, "application/json", ""));
                } else {
                    channel.sendResponse(new RestResponse(RestStatus.OK, b));
                }
            };
        }
    }
}
