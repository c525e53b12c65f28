package dev.streamtune.standalone.bench;

import dev.streamtune.core.ServiceState;
import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.ingest.IngestConfig;
import dev.streamtune.ingest.IngestService;
import dev.streamtune.standalone.DataOption;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Ingest's throughput of validated samples against a raw producer → consumer on the same broker, side by side in one run: the
 * same labelled PNG records, sent by the same idempotent producer; raw, they are read back as they are; through ingest, each is
 * decoded, validated and written to {@code samples} (with exactly once on, then off), and read back from there, read committed.
 * Each way is timed from the first send to the last record read.
 */
@Command(name = "ingest", mixinStandardHelpOptions = true,
    description = "Ingest's validated samples per second (exactly once on and off) against a raw producer -> consumer.")
public final class BenchIngestCommand implements Callable<Integer> {
  @Mixin
  DataOption data;

  @Option(names = "--samples", defaultValue = "20000", description = "samples per round (default ${DEFAULT-VALUE})")
  int samples;

  @Option(names = "--partitions", defaultValue = "1", description = "partitions of the topics (default ${DEFAULT-VALUE})")
  int partitions;

  @Option(names = "--rounds", defaultValue = "2", description = "rounds of each way, the best is reported (default "
      + "${DEFAULT-VALUE})")
  int rounds;

  @Option(names = {"-s", "--set"}, paramLabel = "KEY=VALUE", description = "a setting of the ingest service, e.g. "
      + "-s streamtune.kafka.batch.size=262144 (client settings reach the Streams app's clients)")
  Map<String, String> set = new HashMap<>();

  private record Way(String name, String guarantee) {}

  @Override
  public Integer call() throws Exception {
    FashionMnist.Split train = FashionMnist.train(data.dir);
    List<byte[]> pngs = new ArrayList<>();
    long bytes = 0;
    for (int i = 0; i < samples; i++) {
      byte[] png = Images.toPng(train.images()[i % train.images().length], FashionMnist.SIDE, FashionMnist.SIDE);
      pngs.add(png);
      bytes += png.length;
    }
    List<String> labels = new ArrayList<>();
    for (int i = 0; i < samples; i++) {
      labels.add(FashionMnist.LABELS.get(train.labels()[i % train.labels().length]));
    }
    System.out.printf(Locale.ROOT, "bench ingest: %d labelled PNG samples (%.1f KiB on average), %d partition(s), %d rounds%n",
        samples, bytes / 1024.0 / samples, partitions, rounds);
    List<Way> ways = List.of(new Way("raw producer -> consumer", null), new Way("ingest, exactly_once_v2", "exactly_once_v2"),
        new Way("ingest, at_least_once", "at_least_once"));
    Map<String, Double> best = new HashMap<>();
    Path work = Files.createTempDirectory("bench-ingest");
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().build().start()) {
      for (int round = 1; round <= rounds; round++) {
        for (Way way : ways) {
          double rate = round(broker.bootstrapServers(), way, round, pngs, labels, work);
          best.merge(way.name(), rate, Math::max);
          System.out.printf(Locale.ROOT, "  round %d  %-28s %8.0f samples/s%n", round, way.name(), rate);
        }
      }
    }
    double raw = best.get(ways.get(0).name());
    System.out.println();
    System.out.printf(Locale.ROOT, "%-28s %12s %10s%n", "way (best round)", "samples/s", "vs raw");
    for (Way way : ways) {
      double r = best.get(way.name());
      System.out.printf(Locale.ROOT, "%-28s %12.0f %9.2fx%n", way.name(), r, r / raw);
    }
    return 0;
  }

  private double round(String bootstrap, Way way, int round, List<byte[]> pngs, List<String> labels, Path work)
      throws Exception {
    Topics topics = new Topics("bench-" + round + "-" + (way.guarantee() == null ? "raw" : way.guarantee().replace('_', '-'))
        + ".");
    KafkaSupport.ensureTopics(bootstrap, topics, partitions, (short) 1, Duration.ofSeconds(30));
    IngestService ingest = null;
    try {
      String out = topics.samplesRaw.name();
      if (way.guarantee() != null) {
        Map<String, String> s = new HashMap<>(set);
        s.put(CommonConfig.BOOTSTRAP, bootstrap);
        s.put(CommonConfig.TOPIC_PREFIX, topics.prefix());
        s.put(CommonConfig.STORE_DIR, work.resolve("store").toString());
        s.put(CommonConfig.GUARANTEE, way.guarantee());
        s.put(IngestConfig.PORT, "0");
        s.put(IngestConfig.STATE_DIR, work.resolve(topics.prefix()).toString());
        s.put(IngestConfig.APPLICATION_ID, "bench-ingest-" + topics.prefix().replace(".", ""));
        ingest = new IngestService(IngestConfig.from(Settings.of(s)));
        ingest.start();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (ingest.state() != ServiceState.RUNNING && System.nanoTime() < deadline) {
          Thread.sleep(50);
        }
        if (ingest.state() != ServiceState.RUNNING) {
          throw new IllegalStateException("ingest did not start: " + ingest.state());
        }
        out = topics.samples.name();
      }
      try (KafkaConsumer<String, byte[]> consumer = KafkaSupport.rawConsumer(bootstrap, "bench-reader", null);
          KafkaProducer<String, byte[]> producer = KafkaSupport.producer(bootstrap, "bench-loader", topics.samplesRaw)) {
        KafkaSupport.assignFromBeginning(consumer, List.of(out), Duration.ofSeconds(30));
        long start = System.nanoTime();
        for (int i = 0; i < pngs.size(); i++) {
          ProducerRecord<String, byte[]> r = new ProducerRecord<>(topics.samplesRaw.name(), "b-" + i, pngs.get(i));
          r.headers().add(Topics.HEADER_LABEL, labels.get(i).getBytes(StandardCharsets.UTF_8));
          r.headers().add(Topics.HEADER_CONTENT_TYPE, "image/png".getBytes(StandardCharsets.UTF_8));
          producer.send(r);
        }
        producer.flush();
        int read = 0;
        long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
        while (read < pngs.size()) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException(way.name() + ": only " + read + " of " + pngs.size() + " records arrived in 10 min");
          }
          read += consumer.poll(Duration.ofMillis(100)).count();
        }
        return pngs.size() / ((System.nanoTime() - start) / 1e9);
      }
    } finally {
      if (ingest != null) {
        ingest.close();
      }
    }
  }
}
