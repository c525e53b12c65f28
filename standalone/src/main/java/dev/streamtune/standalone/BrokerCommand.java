package dev.streamtune.standalone;

import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The embedded single-node KRaft broker alone, for a laptop or the split deployment's tests. */
@Command(name = "broker", mixinStandardHelpOptions = true, description = "Run the embedded single-node KRaft Kafka broker.")
final class BrokerCommand implements Callable<Integer> {
  @Option(names = "--port", defaultValue = "9092", description = "listener port (0 = a free one; default ${DEFAULT-VALUE})")
  int port;

  @Option(names = "--host", defaultValue = "localhost", description = "host to bind and advertise (default ${DEFAULT-VALUE})")
  String host;

  @Option(names = "--data", paramLabel = "DIR", description = "data directory kept across restarts (default: a temporary one)")
  Path data;

  @Override
  public Integer call() throws Exception {
    EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().port(port).host(host).dataDir(data).build().start();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      broker.close();
      stopped.countDown();
    }));
    System.out.println("broker running on " + broker.bootstrapServers() + " (data " + broker.dataDir() + "); Ctrl-C to stop");
    stopped.await();
    return 0;
  }
}
