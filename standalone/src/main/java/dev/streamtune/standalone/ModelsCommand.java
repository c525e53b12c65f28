package dev.streamtune.standalone;

import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.RecordFormatException;
import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topic;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.records.Promotion;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code streamtune models list|promote|rollback}: the stored versions of a model and which one is promoted, and manual
 * promotions and rollbacks, published as {@link Promotion} records on {@code promotions} (keyed by model name) that every
 * serving node follows. A version is promoted only after its {@code model.zip} matches the manifest's sha256.
 */
@Command(name = "models", mixinStandardHelpOptions = true,
    description = "List the stored versions of a model, import your own pretrained network, promote a version, or roll back "
        + "to the previously promoted one.",
    subcommands = {ModelsCommand.ListVersions.class, ImportCommand.class, ModelsCommand.Promote.class,
        ModelsCommand.Rollback.class})
public final class ModelsCommand implements Runnable {
  /** How long reading or writing {@code promotions} may take before the command gives up with a clear line. */
  static final Duration KAFKA_TIMEOUT = Duration.ofSeconds(30);

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(),
        "name a subcommand: list, import, promote or rollback (see --help)");
  }

  /** Options of every subcommand: the broker, the store, settings, and the model. */
  static class Target {
    @Mixin
    Common common;

    @Option(names = "--model", paramLabel = "NAME", description = "the model (streamtune.model, default fashion)")
    String model;

    CommonConfig config() {
      if (model != null) {
        common.set.put(CommonConfig.MODEL, model);
      }
      return CommonConfig.from(common.settings());
    }
  }

  /** The promotions of one model on the topic, oldest first; empty when the topic does not exist. */
  static List<Promotion> promotions(CommonConfig cfg, PrintWriter err) {
    String topic = cfg.topics().promotions.name();
    List<Promotion> out = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer = KafkaSupport.rawConsumer(cfg.kafka(), "streamtune-models-cli", null,
        Map.of(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false))) {
      List<PartitionInfo> parts;
      try {
        parts = consumer.partitionsFor(topic, KAFKA_TIMEOUT);
      } catch (org.apache.kafka.common.errors.TimeoutException e) {
        throw new IllegalStateException("cannot reach Kafka at " + cfg.bootstrap() + " within " + KAFKA_TIMEOUT.toSeconds()
            + " s to read " + topic);
      }
      if (parts == null || parts.isEmpty()) {
        return out;
      }
      Map<TopicPartition, Long> ends = KafkaSupport.assignFromBeginning(consumer, List.of(topic), KAFKA_TIMEOUT);
      long deadline = System.nanoTime() + KAFKA_TIMEOUT.toNanos();
      List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
      while (!KafkaSupport.reached(consumer, ends)) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("could not read " + topic + " to its end within " + KAFKA_TIMEOUT.toSeconds() + " s");
        }
        consumer.poll(Duration.ofMillis(200)).forEach(records::add);
      }
      // one key per model, so one partition holds a model's promotions in order; order across partitions by time
      records.sort((a, b) -> Long.compare(a.timestamp(), b.timestamp()));
      for (ConsumerRecord<String, byte[]> r : records) {
        if (r.value() == null || !cfg.model().equals(r.key())) {
          continue;
        }
        try {
          Promotion p = Json.fromBytes(r.value(), Promotion.class);
          if (p.model().equals(cfg.model())) {
            out.add(p);
          }
        } catch (RecordFormatException e) {
          err.println("skipping unreadable record " + r.topic() + "-" + r.partition() + "@" + r.offset() + ": " + e.getMessage());
        }
      }
    }
    return out;
  }

  /** The manifest of a stored version after checking its model.zip against the manifest's sha256. */
  static Manifest verified(DirectoryModelStore store, String model, int version) {
    List<Integer> versions = store.versions(model);
    if (versions.isEmpty()) {
      throw new IllegalArgumentException("unknown model '" + model + "': no versions in the store " + store.root());
    }
    Manifest m = store.manifest(model, version).orElseThrow(() -> new IllegalArgumentException(
        "unknown version " + version + " of model '" + model + "'; stored versions: " + versions));
    Path zip = store.dir(model, version).resolve("model.zip");
    String actual;
    try {
      actual = DirectoryModelStore.sha256(zip);
    } catch (IOException e) {
      throw new IllegalStateException(model + " v" + version + ": cannot read " + zip + ": " + e.getMessage());
    }
    if (!actual.equals(m.sha256())) {
      throw new IllegalStateException(model + " v" + version + ": model.zip sha256 " + actual + " does not match the manifest's "
          + m.sha256() + "; not promoted");
    }
    return m;
  }

  /** Publishes a promotion and waits for the broker to acknowledge it. */
  static RecordMetadata publish(CommonConfig cfg, Promotion p) {
    KafkaSupport.ensureTopics(cfg.kafka(), cfg.topics(), cfg.partitions(), cfg.replication(), KAFKA_TIMEOUT);
    Topic<String, Promotion> topic = cfg.topics().promotions;
    try (KafkaProducer<String, Promotion> producer = KafkaSupport.producer(cfg.kafka(), "streamtune-models-cli", topic)) {
      return producer.send(new ProducerRecord<>(topic.name(), p.model(), p)).get(KAFKA_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException("could not publish to " + topic.name() + ": " + e.getCause().getMessage());
    } catch (TimeoutException e) {
      throw new IllegalStateException("no acknowledgement from " + cfg.bootstrap() + " within " + KAFKA_TIMEOUT.toSeconds() + " s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while publishing");
    }
  }

  static Promotion promotion(DirectoryModelStore store, Manifest m, String reason) {
    return new Promotion(Versioned.CURRENT, m.model(), m.version(), store.uri(m.model(), m.version()), m.sha256(), reason,
        Instant.now());
  }

  /** {@code models list}. */
  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "The stored versions of a model with their provenance, and the one promoted now.")
  static final class ListVersions implements Callable<Integer> {
    @Mixin
    Target target;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      CommonConfig cfg = target.config();
      PrintWriter out = spec.commandLine().getOut();
      DirectoryModelStore store = new DirectoryModelStore(cfg.storeDir());
      List<Integer> versions = store.versions(cfg.model());
      if (versions.isEmpty()) {
        throw new IllegalArgumentException("unknown model '" + cfg.model() + "': no versions in the store " + store.root());
      }
      List<Promotion> history = promotions(cfg, spec.commandLine().getErr());
      Optional<Promotion> current = history.isEmpty() ? Optional.empty() : Optional.of(history.get(history.size() - 1));
      int serving = current.map(Promotion::version).orElse(versions.get(0));
      out.printf("%-8s %-7s %-24s %-14s %s%n", "VERSION", "PARENT", "CREATED", "SHA256", "STATUS");
      for (int v : versions) {
        Optional<Manifest> m = store.manifest(cfg.model(), v);
        if (m.isEmpty()) {
          continue;
        }
        String status = v != serving ? ""
            : current.map(p -> "promoted " + p.timestamp().truncatedTo(ChronoUnit.SECONDS) + " (" + p.reason() + ")")
                .orElse("base, nothing promoted");
        if (v != serving && history.stream().anyMatch(p -> p.version() == v)) {
          status = "promoted before";
        }
        out.printf("%-8d %-7s %-24s %-14s %s%n", v, m.get().parent() == null ? "-" : m.get().parent().toString(),
            m.get().created().truncatedTo(ChronoUnit.SECONDS).toString(), m.get().sha256() == null ? "-" : m.get().sha256().substring(0, 12), status);
      }
      out.printf("%s: %d versions in %s; %d promotions read from %s%n", cfg.model(), versions.size(), store.root(),
          history.size(), cfg.topics().promotions.name());
      out.flush();
      return 0;
    }
  }

  /** {@code models promote --version N}. */
  @Command(name = "promote", mixinStandardHelpOptions = true,
      description = "Promote a stored version (after verifying its sha256): every serving node swaps to it.")
  static final class Promote implements Callable<Integer> {
    @Mixin
    Target target;

    @Option(names = "--version", required = true, paramLabel = "N", description = "the version to promote")
    int version;

    @Option(names = "--reason", defaultValue = "manual promotion", description = "why (default: ${DEFAULT-VALUE})")
    String reason;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      CommonConfig cfg = target.config();
      DirectoryModelStore store = new DirectoryModelStore(cfg.storeDir());
      Manifest m = verified(store, cfg.model(), version);
      RecordMetadata md = publish(cfg, promotion(store, m, "manual: " + reason));
      spec.commandLine().getOut().printf("promoted %s v%d (sha256 %s) on %s-%d@%d%n", cfg.model(), version, m.sha256(), md.topic(),
          md.partition(), md.offset());
      spec.commandLine().getOut().flush();
      return 0;
    }
  }

  /** {@code models rollback}. */
  @Command(name = "rollback", mixinStandardHelpOptions = true,
      description = "Promote again the version promoted before the current one (or, when the compacted topic no longer holds "
          + "it, the current version's parent).")
  static final class Rollback implements Callable<Integer> {
    @Mixin
    Target target;

    @Option(names = "--reason", required = true, description = "why the current version is rolled back")
    String reason;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      CommonConfig cfg = target.config();
      DirectoryModelStore store = new DirectoryModelStore(cfg.storeDir());
      if (store.versions(cfg.model()).isEmpty()) {
        throw new IllegalArgumentException("unknown model '" + cfg.model() + "': no versions in the store " + store.root());
      }
      List<Promotion> history = promotions(cfg, spec.commandLine().getErr());
      if (history.isEmpty()) {
        throw new IllegalStateException("nothing to roll back: no promotion of '" + cfg.model() + "' on "
            + cfg.topics().promotions.name() + ", the base model serves");
      }
      int current = history.get(history.size() - 1).version();
      Integer back = null;
      String from = "promoted before it";
      for (int i = history.size() - 2; i >= 0; i--) {
        if (history.get(i).version() != current) {
          back = history.get(i).version();
          break;
        }
      }
      if (back == null) {
        // the compacted topic keeps only the newest record per model: the parent is what served while it was trained
        back = store.manifest(cfg.model(), current).map(Manifest::parent).orElse(null);
        from = "its parent; the compacted topic no longer holds the previous promotion";
      }
      if (back == null) {
        throw new IllegalStateException("nothing to roll back to: " + cfg.model() + " v" + current
            + " has no earlier promotion and no parent; use 'models promote --version N'");
      }
      Manifest m = verified(store, cfg.model(), back);
      RecordMetadata md = publish(cfg, promotion(store, m, "rollback from v" + current + ": " + reason));
      spec.commandLine().getOut().printf("rolled %s back from v%d to v%d (%s) on %s-%d@%d%n", cfg.model(), current, back, from,
          md.topic(), md.partition(), md.offset());
      spec.commandLine().getOut().flush();
      return 0;
    }
  }
}
