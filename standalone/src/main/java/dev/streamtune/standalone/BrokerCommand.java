package dev.streamtune.standalone;

import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The embedded KRaft broker: one node alone, or one node of a multi-node cluster (every node a broker and a controller). */
@Command(name = "broker", mixinStandardHelpOptions = true, description = {
    "Run the embedded KRaft Kafka broker: a single node, or with --node-id and --quorum one node of a cluster.",
    "A 3-node cluster on one host: streamtune broker --node-id N --port 909N --data /var/lib/kafka-N "
        + "--quorum 1@localhost:9191,2@localhost:9192,3@localhost:9193 (N = 1, 2, 3)."})
final class BrokerCommand implements Callable<Integer> {
  @Option(names = "--port", defaultValue = "9092", description = "client listener port (0 = a free one; default ${DEFAULT-VALUE})")
  int port;

  @Option(names = "--host", defaultValue = "localhost", description = "host to bind and advertise (default ${DEFAULT-VALUE})")
  String host;

  @Option(names = "--data", paramLabel = "DIR", description = "data directory kept across restarts (default: a temporary one)")
  Path data;

  @Option(names = "--node-id", paramLabel = "ID", description = "this node's id in --quorum (default ${DEFAULT-VALUE})",
      defaultValue = "1")
  int nodeId;

  @Option(names = "--quorum", paramLabel = "VOTERS", description = "the controller quorum, id@host:port per node separated by "
      + "commas; this node's controller listener binds to its entry. With 3 or more nodes, topics default to 3 replicas and "
      + "min.insync.replicas 2")
  String quorum;

  @Option(names = "--cluster-id", paramLabel = "ID", description = "cluster id for a new data directory (default: random for a "
      + "single node, derived from --quorum for a cluster so that every node agrees)")
  String clusterId;

  @Override
  public Integer call() throws Exception {
    EmbeddedKafkaBroker.Builder builder = EmbeddedKafkaBroker.builder().port(port).host(host).dataDir(data).clusterId(clusterId);
    if (quorum != null) {
      builder.cluster(nodeId, quorum).startTimeout(java.time.Duration.ofMinutes(5));
    } else if (nodeId != EmbeddedKafkaBroker.NODE_ID) {
      throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "--node-id needs --quorum");
    }
    EmbeddedKafkaBroker broker = builder.build().start();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      broker.close();
      stopped.countDown();
    }));
    System.out.println("broker node " + broker.nodeId() + " running on " + broker.bootstrapServers() + " (cluster "
        + broker.clusterId() + ", data " + broker.dataDir() + "); Ctrl-C to stop");
    stopped.await();
    return 0;
  }
}
