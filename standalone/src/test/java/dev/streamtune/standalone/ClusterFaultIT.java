package dev.streamtune.standalone;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.learn.Holdout;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.records.Outcome;
import dev.streamtune.core.records.Promotion;
import dev.streamtune.core.testing.TestData;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The split deployment on a real 3-node cluster, every part its own JVM, under kill -9: three {@code streamtune broker} nodes
 * (replication 3, {@code min.insync.replicas} 2, 3 partitions), two instances of ingest and of the evaluator, two serving
 * replicas, an active trainer and a standby, each started with its command line and environment from
 * {@code docker-compose.yml}. While labelled samples and labelled predictions flow, it kill -9s one instance of each service in
 * turn and one broker, restarts them as a container's restart policy would (a process that exits is restarted too), and then
 * checks that nothing was lost or repeated: every sample is in {@code samples} or {@code samples.rejected} exactly once, every
 * labelled prediction joined into {@code samples} and counted in the outcomes exactly once, the restarted trainer rebuilt its
 * buffer, both replicas serve the newest promoted version, and a client that retries on the other replica lost no request.
 * Prints the time each part took to be ready again.
 */
@Tag("fault")
class ClusterFaultIT {
  private static final Path COMPOSE = Path.of("..", "docker-compose.yml");
  private static final Path JAR = Path.of("target", "streamtune.jar").toAbsolutePath();
  private static final Path LOGS = Path.of("target", "cluster-fault-it").toAbsolutePath();
  private static final String MODEL = "fashion";
  private static final String PREFIX = "streamtune.";
  private static final Duration READY = Duration.ofMinutes(4);
  private static final Duration JOIN_WINDOW = Duration.ofSeconds(20);
  private static final Topics TOPICS = new Topics(PREFIX);

  private static final List<Part> parts = Collections.synchronizedList(new ArrayList<>());
  private static final AtomicBoolean supervising = new AtomicBoolean(true);
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final Map<String, String> figures = new LinkedHashMap<>();
  private final Map<String, Long> killedAt = new ConcurrentHashMap<>();

  @AfterAll
  static void stopAll() {
    supervising.set(false);
    synchronized (parts) {
      parts.forEach(Part::kill);
    }
  }

  @Test
  void shouldLoseAndRepeatNothingWhenEachServiceAndABrokerAreKilled() throws Exception {
    Files.createDirectories(LOGS);
    Map<String, Object> compose = compose();
    Path work = TestData.tempDir("cluster-fault");
    Path store = work.resolve("store");

    // three broker nodes, each a broker and a controller
    int[] client = {RealPrometheus.freePort(), RealPrometheus.freePort(), RealPrometheus.freePort()};
    int[] controller = {RealPrometheus.freePort(), RealPrometheus.freePort(), RealPrometheus.freePort()};
    String quorum = "1@localhost:" + controller[0] + ",2@localhost:" + controller[1] + ",3@localhost:" + controller[2];
    String bootstrap = "localhost:" + client[0] + ",localhost:" + client[1] + ",localhost:" + client[2];
    List<Part> brokers = new ArrayList<>();
    for (int n = 1; n <= 3; n++) {
      brokers.add(start(new Part("broker-" + n, List.of("broker", "--node-id", String.valueOf(n), "--port",
          String.valueOf(client[n - 1]), "--data", work.resolve("kafka-" + n).toString(), "--quorum", quorum), Map.of(), -1,
          "384m")));
    }
    for (Part b : brokers) {
      awaitBroker(bootstrap, b);
    }

    // the base model, by the compose file's pretrain command (on fewer images)
    List<String> pretrain = new ArrayList<>(containerPaths(command(compose, "pretrain"), store, null));
    pretrain.addAll(List.of("--images", "1000", "--epochs", "1"));
    Part pre = new Part("pretrain", pretrain, Map.of(), -1, "1g");
    assertThat(pre.launch().waitFor(4, TimeUnit.MINUTES)).as("pretrain finished").isTrue();
    assertThat(pre.process.exitValue()).as("pretrain exit status (log %s)", pre.log).isZero();
    Manifest base = new DirectoryModelStore(store).latest(MODEL).orElseThrow();

    Map<String, String> env = new HashMap<>(environment(compose));
    env.put("STREAMTUNE_BOOTSTRAP", bootstrap);
    env.put("STREAMTUNE_STORE_DIR", store.toString());
    env.put("STREAMTUNE_TOPIC_PARTITIONS", "3");
    env.put("STREAMTUNE_TOPIC_REPLICATION", "3");
    // the two serving replicas run on this one host: each gRPC server on a free port, not both on the default
    env.put("STREAMTUNE_SERVING_GRPC_PORT", "0");
    // -Dstreamtune.fault.guarantee=at_least_once shows what the test catches when exactly once is off
    env.put("STREAMTUNE_PROCESSING_GUARANTEE", System.getProperty("streamtune.fault.guarantee", "exactly_once_v2"));
    // a label whose served image or prediction never arrived is reported once its join window closed: short windows here
    env.put("STREAMTUNE_INGEST_JOIN_WINDOW", JOIN_WINDOW.toString());
    env.put("STREAMTUNE_EVALUATOR_JOIN_WINDOW", JOIN_WINDOW.toString());
    // the compose file's services and the second instances of its "ha" profile
    Part ingest1 = service(compose, "ingest", env, work);
    Part ingest2 = service(compose, "ingest-2", env, work);
    Part evaluator1 = service(compose, "evaluator", env, work);
    Part evaluator2 = service(compose, "evaluator-2", env, work);
    Part trainer1 = service(compose, "trainer", env, work);
    Part serving1 = service(compose, "serving", env, work);
    Part serving2 = service(compose, "serving-2", env, work);
    for (Part p : List.of(ingest1, ingest2, evaluator1, evaluator2, trainer1, serving1, serving2)) {
      awaitReady(p);
    }
    awaitGauge(trainer1, "streamtune_trainer_active", 1);
    assertReplicated(bootstrap);
    Part trainer2 = service(compose, "trainer-standby", env, work);
    awaitReady(trainer2);
    assertThat(gauge(trainer2, "streamtune_trainer_active")).as("the second trainer is a standby").isZero();
    // loop-event counters exist at 0 before the first event (so Prometheus' increase() sees the first one)
    assertThat(gauge(evaluator1, "streamtune_evaluator_gate_decisions_total{version=\"1\",verdict=\"reject\"}")).isZero();
    assertThat(gauge(evaluator1, "streamtune_evaluator_drift_signals_total{version=\"1\",detector=\"page-hinkley\"}")).isZero();
    assertThat(gauge(trainer2, "streamtune_trainer_retrains_total{outcome=\"candidate\"}")).isZero();
    assertThat(gauge(ingest1, "streamtune_service_ready")).isEqualTo(1.0);
    Thread supervisor = new Thread(ClusterFaultIT::supervise, "fault-it-supervisor");
    supervisor.setDaemon(true);
    supervisor.start();

    // every outcome the evaluators count passes through their repartition topic; it is purged behind them, so read it live
    Map<String, Integer> outcomes = new ConcurrentHashMap<>();
    AtomicBoolean collecting = new AtomicBoolean(true);
    Thread collector = new Thread(() -> collect(bootstrap, "streamtune-evaluator-outcomes-by-model-repartition", collecting,
        r -> outcomes.merge(Json.fromBytes(r.value(), Outcome.class).predictionId(), 1, Integer::sum)), "outcome-collector");
    collector.start();

    Traffic traffic = new Traffic(bootstrap, List.of(serving1, serving2), List.of(ingest1, ingest2));
    Thread flow = new Thread(traffic, "traffic");
    flow.start();

    // kill -9 one instance of each service in turn, then a broker; restart each as a restart policy would
    Thread.sleep(8_000);
    killAndRestart(ingest1);
    // a new version is promoted while the faults go on: every replica must end up serving it
    DirectoryModelStore models = new DirectoryModelStore(store);
    LoadedModel v1 = models.load(MODEL, base.version(), base.sha256());
    Manifest v2 = models.save(MODEL, v1.network().multiLayer(), v1.spec(), base.version(), base.training(), Map.of());
    assertThat(StreamTuneCli.execute("models", "promote", "--bootstrap", bootstrap, "--store", store.toString(), "--model", MODEL,
        "--version", String.valueOf(v2.version()), "--reason", "fault test")).isZero();
    Thread.sleep(3_000);
    killAndRestart(evaluator1);
    Thread.sleep(3_000);
    killAndRestart(serving1);
    Thread.sleep(3_000);
    long killed = System.nanoTime();
    trainer1.kill();
    awaitGauge(trainer2, "streamtune_trainer_active", 1);
    figure("trainer standby active after kill -9 of the active one", seconds(System.nanoTime() - killed));
    trainer1.restart();
    awaitReady(trainer1);
    figure("trainer (restarted as the standby) ready after kill -9", seconds(System.nanoTime() - killed));
    Thread.sleep(3_000);
    killed = System.nanoTime();
    brokers.get(1).kill();
    Thread.sleep(5_000);
    long restarted = System.nanoTime();
    brokers.get(1).restart();
    awaitBroker("localhost:" + client[1], brokers.get(1));
    figure("broker-2 answering on its listener after its restart (killed for 5 s)", seconds(System.nanoTime() - restarted));
    awaitInSync(bootstrap);
    figure("every partition fully in sync again after the broker's restart", seconds(System.nanoTime() - restarted));
    traffic.stopAfter(60);
    flow.join(Duration.ofMinutes(5).toMillis());
    assertThat(flow.isAlive()).as("traffic finished").isFalse();

    // all of it arrives, once
    List<String> rawIds = traffic.rawIds();
    List<String> labelled = traffic.labelled();
    Map<String, Integer> samples = new HashMap<>();
    Map<String, Integer> rejected = new HashMap<>();
    Set<String> noInput = Set.of();
    // serving's events are sent after the answer: a node killed with -9 loses those of its last few answers, and their labels
    // are then reported once their join windows closed (ingest: records.rejected, reason no-input; evaluator: counted). Unlabelled
    // predictions meanwhile move the joins' stream time on, as live traffic would.
    Ticker ticker = new Ticker(List.of(serving1, serving2));
    Thread ticking = new Thread(ticker, "ticker");
    ticking.start();
    long deadline = System.nanoTime() + Duration.ofSeconds(150).toNanos();
    while (System.nanoTime() < deadline) {
      samples = countKeys(bootstrap, TOPICS.samples.name());
      rejected = countKeys(bootstrap, TOPICS.samplesRejected.name());
      noInput = noInput(bootstrap);
      Map<String, Integer> s = samples;
      Map<String, Integer> rj = rejected;
      Set<String> ni = noInput;
      long noOutcome = labelled.stream().filter(id -> !outcomes.containsKey(id)).count();
      if (rawIds.stream().allMatch(id -> s.containsKey(id) || rj.containsKey(id))
          && labelled.stream().allMatch(id -> s.containsKey(id) || ni.contains(id))
          && noOutcome <= noPrediction(evaluator1) + noPrediction(evaluator2)) {
        break;
      }
      Thread.sleep(2_000);
    }
    ticker.running = false;
    ticking.join(30_000);
    Thread.sleep(5_000); // anything repeated late would show now
    samples = countKeys(bootstrap, TOPICS.samples.name());
    rejected = countKeys(bootstrap, TOPICS.samplesRejected.name());
    collecting.set(false);
    collector.join(10_000);

    Map<String, Integer> s = samples;
    Map<String, Integer> rj = rejected;
    assertThat(rawIds.stream().filter(id -> s.getOrDefault(id, 0) + rj.getOrDefault(id, 0) != 1)
        .map(id -> id + "=" + (s.getOrDefault(id, 0) + rj.getOrDefault(id, 0))).toList())
        .as("samples sent (%d) each exactly once in samples or samples.rejected", rawIds.size()).isEmpty();
    assertThat(rawIds.stream().filter(id -> id.startsWith("bad-")).filter(id -> !rj.containsKey(id)).toList())
        .as("undecodable samples are rejected").isEmpty();
    // each offender with its count (0: lost, 2 or more: repeated); a label whose served image was lost is reported, not lost
    Set<String> ni = noInput;
    assertThat(labelled.stream().filter(id -> s.getOrDefault(id, 0) + (ni.contains(id) ? 1 : 0) != 1)
        .map(id -> id + "=" + s.getOrDefault(id, 0) + (ni.contains(id) ? "+no-input" : "")).toList())
        .as("labelled predictions (%d) each joined into samples exactly once or rejected as no-input", labelled.size()).isEmpty();
    assertThat(ni).as("no-input rejections only for labels sent").isSubsetOf(labelled);
    // a lost image or prediction: only answers of the serving node killed, in the moment before its kill
    List<String> noOutcome = labelled.stream().filter(id -> !outcomes.containsKey(id)).toList();
    for (String id : java.util.stream.Stream.concat(ni.stream(), noOutcome.stream()).distinct().toList()) {
      Traffic.Answer a = traffic.answers.get(id);
      assertThat(a.replica()).as("the replica that answered %s, whose events were lost", id).isEqualTo(serving1.name);
      assertThat(killedAt.get(serving1.name) - a.at()).as("ns from the answer to %s to the kill of its replica", id)
          .isBetween(0L, Duration.ofSeconds(2).toNanos());
    }
    assertThat(labelled.stream().filter(id -> outcomes.getOrDefault(id, 0) > 1)
        .map(id -> id + "=" + outcomes.getOrDefault(id, 0)).toList())
        .as("labelled predictions counted more than once in the outcomes").isEmpty();
    assertThat((double) noOutcome.size()).as("labels without an outcome %s, each counted by an evaluator", noOutcome)
        .isLessThanOrEqualTo(noPrediction(evaluator1) + noPrediction(evaluator2));
    assertThat(outcomes.keySet()).as("no outcome for a prediction that was not labelled").isSubsetOf(labelled);
    assertThat(traffic.failed.get()).as("requests lost by a client that retries on the other replica").isZero();

    // the trainer killed and restarted rebuilt its buffer from samples (what it may train on: no held-out sample)
    long trainable = s.keySet().stream().filter(id -> !Holdout.isHeldOut(id, 0.2)).count();
    awaitGauge(trainer1, "streamtune_trainer_buffer_samples{part=\"recent\"}", trainable);

    // both replicas serve the newest promoted version
    int newest = newestPromotion(bootstrap);
    assertThat(newest).isGreaterThanOrEqualTo(v2.version());
    for (Part serving : List.of(serving1, serving2)) {
      awaitGauge(serving, "streamtune_serving_model_version{model=\"" + MODEL + "\"}", newest);
    }

    figure("raw samples sent / labelled predictions", rawIds.size() + " / " + labelled.size());
    figure("labels whose served image was lost with the serving node killed (rejected: no-input / no outcome)",
        ni.size() + " / " + noOutcome.size());
    figure("requests retried on the other replica / lost", traffic.retried.get() + " / " + traffic.failed.get());
    figure("labels sent twice on purpose (counted once)", String.valueOf(traffic.resent.get()));
    figure("requests sent again after the connection broke once sent (labels: counted once)",
        String.valueOf(traffic.resentAfterBreak.get()));
    synchronized (parts) {
      figure("restarts by the supervisor after a process exited", parts.stream().filter(p -> p.exits > 0)
          .map(p -> p.name + " " + p.exits).collect(Collectors.joining(", ", "[", "]")));
    }
    StringBuilder report = new StringBuilder("cluster fault test: time to ready after kill -9\n");
    figures.forEach((k, v) -> report.append(String.format("  %-60s %s%n", k, v)));
    System.out.print(report);
    Files.writeString(LOGS.resolve("figures.txt"), report.toString());
  }

  private void figure(String what, String value) {
    figures.put(what, value);
    System.out.println("fault test: " + what + ": " + value);
  }

  // ---------------------------------------------------------------------------------------------------------------- parts

  /** One process: its command line (after {@code streamtune}), environment and health port. */
  private static final class Part {
    final String name;
    final List<String> args;
    final Map<String, String> env;
    final int port;
    final String heap;
    final Path log;
    volatile Process process;
    volatile boolean intended = true;
    volatile int exits;

    Part(String name, List<String> args, Map<String, String> env, int port, String heap) {
      this.name = name;
      this.args = List.copyOf(args);
      this.env = Map.copyOf(env);
      this.port = port;
      this.heap = heap;
      this.log = LOGS.resolve(name + ".log");
    }

    synchronized Process launch() throws IOException {
      List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx" + heap,
          "-XX:+UseSerialGC", "-jar", JAR.toString()));
      cmd.addAll(args);
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      pb.environment().keySet().removeIf(k -> k.startsWith("STREAMTUNE_"));
      pb.environment().putAll(env);
      pb.environment().put("OMP_NUM_THREADS", "1"); // ten JVMs share two cores
      Files.writeString(log, "\n=== start: " + String.join(" ", args) + "\n", StandardCharsets.UTF_8,
          java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
      process = pb.start();
      intended = true;
      return process;
    }

    synchronized void kill() {
      intended = false;
      if (process != null) {
        process.destroyForcibly(); // SIGKILL
        try {
          process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }

    synchronized void restart() throws IOException {
      launch();
    }

    String tail() {
      try {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
      } catch (IOException e) {
        return "(no log: " + e + ")";
      }
    }
  }

  private static Part start(Part p) throws IOException {
    parts.add(p);
    p.launch();
    return p;
  }

  /**
   * A service by its compose command line and the compose environment pointed at the cluster; its own health port and state
   * directory (containers each have their own; here they share a host).
   */
  private static Part service(Map<String, Object> compose, String service, Map<String, String> env, Path work)
      throws IOException {
    int port = RealPrometheus.freePort();
    String name = service;
    Map<String, String> e = new HashMap<>(env);
    List<String> args = containerPaths(command(compose, service), null, work.resolve(name));
    List<String> adapted = new ArrayList<>();
    boolean hasPort = false;
    for (String a : args) {
      if (a.matches("streamtune\\.[a-z]+\\.port=\\d+")) {
        a = a.substring(0, a.indexOf('=') + 1) + port;
        hasPort = true;
      }
      adapted.add(a);
    }
    assertThat(hasPort).as("the compose command of %s sets its port (its healthcheck and published port use it)", service)
        .isTrue();
    return start(new Part(name, adapted, e, port, "768m"));
  }

  /** Restarts every part that exited while it should run, as {@code restart: unless-stopped} does. */
  private static void supervise() {
    while (supervising.get()) {
      synchronized (parts) {
        for (Part p : parts) {
          synchronized (p) {
            if (p.intended && p.process != null && !p.process.isAlive()) {
              p.exits++;
              System.out.println("fault test: " + p.name + " exited with status " + p.process.exitValue() + "; restarting it");
              try {
                p.launch();
              } catch (IOException e) {
                throw new IllegalStateException(e);
              }
            }
          }
        }
      }
      try {
        Thread.sleep(1_000);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private void killAndRestart(Part p) throws Exception {
    long killed = System.nanoTime();
    killedAt.put(p.name, killed);
    p.kill();
    p.restart();
    awaitReady(p);
    figure(p.name + " ready after kill -9 and an immediate restart", seconds(System.nanoTime() - killed));
  }

  private void awaitReady(Part p) throws InterruptedException {
    long deadline = System.nanoTime() + READY.toNanos();
    while (System.nanoTime() < deadline) {
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port + "/health/ready"))
            .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      Thread.sleep(250);
    }
    throw new AssertionError(p.name + " not ready within " + READY + "; its log ends:\n" + p.tail());
  }

  private static void awaitBroker(String bootstrap, Part broker) throws Exception {
    int node = Integer.parseInt(broker.name.substring(broker.name.indexOf('-') + 1));
    long deadline = System.nanoTime() + READY.toNanos();
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      while (System.nanoTime() < deadline) {
        try {
          if (admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).stream().anyMatch(n -> n.id() == node)) {
            return;
          }
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
          // the quorum is forming
        }
        Thread.sleep(250);
      }
    }
    throw new AssertionError(broker.name + " not in the cluster within " + READY + "; its log ends:\n" + broker.tail());
  }

  /** The co-partitioned topics have 3 partitions of 3 replicas, 2 of which must be in sync for a write. */
  private static void assertReplicated(String bootstrap) throws Exception {
    List<String> topics = List.of(TOPICS.samples.name(), TOPICS.inputs.name(), TOPICS.feedback.name(), TOPICS.predictions.name());
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS).values().forEach(t -> {
        assertThat(t.partitions()).as(t.name()).hasSize(3);
        t.partitions().forEach(pi -> assertThat(pi.replicas()).as(t.name()).hasSize(3));
      });
      var resource = new org.apache.kafka.common.config.ConfigResource(org.apache.kafka.common.config.ConfigResource.Type.TOPIC,
          TOPICS.samples.name());
      assertThat(admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS).get(resource)
          .get("min.insync.replicas").value()).isEqualTo("2");
    }
  }

  /** Waits until no partition is under-replicated (each in-sync replica set is whole again). */
  private static void awaitInSync(String bootstrap) throws Exception {
    long deadline = System.nanoTime() + READY.toNanos();
    List<String> behind = List.of();
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      while (System.nanoTime() < deadline) {
        var names = admin.listTopics(new org.apache.kafka.clients.admin.ListTopicsOptions().listInternal(true)).names()
            .get(10, TimeUnit.SECONDS);
        behind = admin.describeTopics(names).allTopicNames().get(10, TimeUnit.SECONDS).values().stream()
            .flatMap(t -> t.partitions().stream().filter(pi -> pi.isr().size() < pi.replicas().size())
                .map(pi -> t.name() + "-" + pi.partition()))
            .toList();
        if (behind.isEmpty()) {
          return;
        }
        Thread.sleep(250);
      }
    }
    throw new AssertionError("partitions still under-replicated after " + READY + ": " + behind);
  }

  private double gauge(Part p, String series) throws IOException, InterruptedException {
    String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port + "/metrics"))
        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
    // series: a name, with the labels that must be among the line's ({"a=\"b\"", ...}), e.g. x{part="recent"}
    int brace = series.indexOf('{');
    String name = brace < 0 ? series : series.substring(0, brace);
    List<String> labels = brace < 0 ? List.of() : List.of(series.substring(brace + 1, series.length() - 1).split(","));
    for (String line : body.split("\n")) {
      if ((line.startsWith(name + " ") || line.startsWith(name + "{")) && labels.stream().allMatch(line::contains)) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return Double.NaN;
  }

  private void awaitGauge(Part p, String series, double value) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    double last = Double.NaN;
    while (System.nanoTime() < deadline) {
      try {
        last = gauge(p, series);
        if (last == value) {
          return;
        }
      } catch (IOException e) {
        // restarting
      }
      Thread.sleep(500);
    }
    throw new AssertionError(p.name + ": " + series + " is " + last + ", expected " + value + "; its log ends:\n" + p.tail());
  }

  // -------------------------------------------------------------------------------------------------------------- traffic

  /**
   * A labelling tool and a client at once: labelled samples (one in ten undecodable) into {@code samples.raw}, and predictions
   * through a client that tries the other replica when one fails, every prediction labelled through ingest's HTTP.
   */
  private final class Traffic implements Runnable {
    private final KafkaProducer<String, byte[]> producer;
    private final List<Part> serving;
    private final List<Part> ingest;
    private final List<String> rawIds = Collections.synchronizedList(new ArrayList<>());
    private final List<String> labelled = Collections.synchronizedList(new ArrayList<>());
    /** Requests whose connection broke after they were sent (the service may have acted on them), sent again. */
    final AtomicInteger resentAfterBreak = new AtomicInteger();
    /** Labels sent twice on purpose (every seventh), each to both replicas. */
    final AtomicInteger resent = new AtomicInteger();
    final AtomicInteger failed = new AtomicInteger();
    final AtomicInteger retried = new AtomicInteger();
    /** Which replica answered each prediction, and when (System.nanoTime()). */
    final Map<String, Answer> answers = new ConcurrentHashMap<>();
    private volatile int stopAt = Integer.MAX_VALUE;

    record Answer(String replica, long at) {}
    private volatile int sent;

    Traffic(String bootstrap, List<Part> serving, List<Part> ingest) {
      this.producer = KafkaSupport.producer(bootstrap, "fault-it-loader", TOPICS.samplesRaw);
      this.serving = serving;
      this.ingest = ingest;
    }

    /** Sends {@code more} more rounds, then stops. */
    void stopAfter(int more) {
      stopAt = sent + more;
    }

    List<String> rawIds() {
      return List.copyOf(rawIds);
    }

    List<String> labelled() {
      return List.copyOf(labelled);
    }

    @Override
    public void run() {
      FashionMnist.Split train = TestData.train();
      FashionMnist.Split test = TestData.test();
      try (producer) {
        for (int i = 0; i < stopAt && i < 5_000; i++) {
          sent = i;
          String id = (i % 10 == 9 ? "bad-" : "s-") + i;
          byte[] png = i % 10 == 9 ? "not an image".getBytes(StandardCharsets.UTF_8) : Images.toPng(train.images()[i], 28, 28);
          ProducerRecord<String, byte[]> r = new ProducerRecord<>(TOPICS.samplesRaw.name(), id, png);
          r.headers().add(Topics.HEADER_LABEL, FashionMnist.LABELS.get(train.labels()[i]).getBytes(StandardCharsets.UTF_8));
          r.headers().add(Topics.HEADER_DOMAIN, "clean".getBytes(StandardCharsets.UTF_8));
          r.headers().add(Topics.HEADER_CONTENT_TYPE, "image/png".getBytes(StandardCharsets.UTF_8));
          producer.send(r).get(60, TimeUnit.SECONDS);
          rawIds.add(id);

          String predictionId = predict(Images.toPng(test.images()[i], 28, 28), i);
          if (predictionId != null && feedback(predictionId, FashionMnist.LABELS.get(test.labels()[i]), i)) {
            labelled.add(predictionId);
            if (i % 7 == 3) { // a client that resends a label it was not sure of, to the other replica
              feedback(predictionId, FashionMnist.LABELS.get(test.labels()[i]), i + 1);
              resent.incrementAndGet();
            }
          }
          Thread.sleep(150);
        }
      } catch (Exception e) {
        throw new IllegalStateException("traffic stopped at round " + sent, e);
      }
    }

    private String predict(byte[] png, int i) throws InterruptedException, IOException {
      HttpResponse<String> r = post(serving, i, "/predict", "image/png", png);
      long at = System.nanoTime();
      if (r == null) {
        failed.incrementAndGet();
        return null;
      }
      String id = Json.MAPPER.readTree(r.body()).get("predictionId").asText();
      int port = r.uri().getPort();
      answers.put(id, new Answer(serving.stream().filter(p -> p.port == port).findFirst().orElseThrow().name, at));
      return id;
    }

    /**
     * Labels a prediction through ingest's HTTP: true when a replica accepted it. A request whose connection broke after it
     * was sent is sent again, as a client that cannot know whether it was written must: a label counts once per prediction.
     */
    private boolean feedback(String predictionId, String label, int i) throws InterruptedException {
      byte[] body = Json.toBytes(Map.of("predictionId", predictionId, "label", label, "annotator", "fault-it"));
      return post(ingest, i, "/feedback", "application/json", body) != null;
    }

    /** POSTs to one replica, then the other on a connection error, a timeout or a 5xx, for up to 30 s. */
    private HttpResponse<String> post(List<Part> replicas, int i, String path, String type, byte[] body)
        throws InterruptedException {
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      for (int attempt = 0; System.nanoTime() < deadline; attempt++) {
        Part p = replicas.get((i + attempt) % replicas.size());
        try {
          HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port + path))
              .timeout(Duration.ofSeconds(10)).header("Content-Type", type).POST(HttpRequest.BodyPublishers.ofByteArray(body))
              .build(), HttpResponse.BodyHandlers.ofString());
          if (r.statusCode() / 100 == 2) {
            return r;
          }
          if (r.statusCode() / 100 == 4 && r.statusCode() != 429) {
            throw new AssertionError(p.name + " " + path + " answered " + r.statusCode() + ": " + r.body());
          }
        } catch (java.net.ConnectException | java.net.http.HttpConnectTimeoutException e) {
          // the replica is down or restarting: the request never reached it; try the other one
        } catch (IOException e) {
          resentAfterBreak.incrementAndGet(); // it reached the replica, which may have acted on it: sent again
        }
        retried.incrementAndGet();
        Thread.sleep(attempt < replicas.size() ? 0 : 500);
      }
      return null;
    }
  }

  /** Unlabelled predictions, a few a second, to either replica: live traffic that moves the joins' stream time on. */
  private final class Ticker implements Runnable {
    private final List<Part> serving;
    volatile boolean running = true;

    Ticker(List<Part> serving) {
      this.serving = serving;
    }

    @Override
    public void run() {
      byte[] png = Images.toPng(TestData.test().images()[0], 28, 28);
      for (int i = 0; running; i++) {
        try {
          http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + serving.get(i % serving.size()).port + "/predict"))
              .timeout(Duration.ofSeconds(5)).header("Content-Type", "image/png").POST(HttpRequest.BodyPublishers.ofByteArray(png))
              .build(), HttpResponse.BodyHandlers.discarding());
          Thread.sleep(200);
        } catch (IOException e) {
          // not what is tested here
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  private double noPrediction(Part evaluator) throws IOException, InterruptedException {
    return gauge(evaluator, "streamtune_evaluator_feedback_ignored_total{reason=\"no-prediction\"}");
  }

  // ---------------------------------------------------------------------------------------------------------------- kafka

  /** The labels ingest rejected because no served image with their prediction id arrived within the join window. */
  private static Set<String> noInput(String bootstrap) {
    Set<String> ids = new HashSet<>();
    try (KafkaConsumer<String, byte[]> c = KafkaSupport.rawConsumer(bootstrap, "fault-it-no-input", null)) {
      Map<TopicPartition, Long> ends = KafkaSupport.assignFromBeginning(c, List.of(TOPICS.recordsRejected.name()),
          Duration.ofSeconds(30));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (!KafkaSupport.reached(c, ends) && System.nanoTime() < deadline) {
        c.poll(Duration.ofMillis(200)).forEach(r -> {
          var reason = r.headers().lastHeader(Topics.HEADER_REJECT_REASON);
          if (reason != null && new String(reason.value(), StandardCharsets.UTF_8).startsWith("no served input")) {
            ids.add(r.key());
          }
        });
      }
    }
    return ids;
  }

  private static void collect(String bootstrap, String topic, AtomicBoolean running,
      java.util.function.Consumer<ConsumerRecord<String, byte[]>> sink) {
    try (KafkaConsumer<String, byte[]> c = KafkaSupport.rawConsumer(bootstrap, "fault-it-" + topic, null)) {
      List<TopicPartition> assigned = List.of();
      while (running.get()) {
        if (assigned.isEmpty()) {
          var infos = c.listTopics(Duration.ofSeconds(10)).get(topic);
          if (infos != null) {
            assigned = infos.stream().map(pi -> new TopicPartition(topic, pi.partition())).toList();
            c.assign(assigned);
            c.seekToBeginning(assigned);
          } else {
            Thread.sleep(500);
            continue;
          }
        }
        c.poll(Duration.ofMillis(200)).forEach(sink);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** How often each key occurs in a topic (read committed, from the beginning to its end now). */
  private static Map<String, Integer> countKeys(String bootstrap, String topic) {
    Map<String, Integer> counts = new HashMap<>();
    try (KafkaConsumer<String, byte[]> c = KafkaSupport.rawConsumer(bootstrap, "fault-it-count", null)) {
      Map<TopicPartition, Long> ends = KafkaSupport.assignFromBeginning(c, List.of(topic), Duration.ofSeconds(30));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (!KafkaSupport.reached(c, ends) && System.nanoTime() < deadline) {
        c.poll(Duration.ofMillis(200)).forEach(r -> counts.merge(r.key(), 1, Integer::sum));
      }
    }
    return counts;
  }

  private static int newestPromotion(String bootstrap) {
    int newest = -1;
    try (KafkaConsumer<String, byte[]> c = KafkaSupport.rawConsumer(bootstrap, "fault-it-promotions", null)) {
      Map<TopicPartition, Long> ends = KafkaSupport.assignFromBeginning(c, List.of(TOPICS.promotions.name()),
          Duration.ofSeconds(30));
      List<ConsumerRecord<String, byte[]>> all = new ArrayList<>();
      while (!KafkaSupport.reached(c, ends)) {
        c.poll(Duration.ofMillis(200)).forEach(all::add);
      }
      all.sort((a, b) -> Long.compare(a.timestamp(), b.timestamp()));
      for (ConsumerRecord<String, byte[]> r : all) {
        if (MODEL.equals(r.key()) && r.value() != null) {
          newest = Json.fromBytes(r.value(), Promotion.class).version();
        }
      }
    }
    return newest;
  }

  // -------------------------------------------------------------------------------------------------------------- compose

  @SuppressWarnings("unchecked")
  private static Map<String, Object> compose() throws IOException {
    return (Map<String, Object>) new Yaml().load(Files.readString(COMPOSE));
  }

  @SuppressWarnings("unchecked")
  private static List<String> command(Map<String, Object> compose, String service) {
    Map<String, Object> s = (Map<String, Object>) ((Map<String, Object>) compose.get("services")).get(service);
    assertThat(s).as("service %s in %s", service, COMPOSE).isNotNull();
    return ((List<Object>) s.get("command")).stream().map(String::valueOf).toList();
  }

  /** The environment the services share in the compose file (its {@code x-streamtune} anchor, merged into each). */
  @SuppressWarnings("unchecked")
  private static Map<String, String> environment(Map<String, Object> compose) {
    Map<String, Object> s = (Map<String, Object>) ((Map<String, Object>) compose.get("services")).get("ingest");
    Map<String, String> env = new HashMap<>();
    ((Map<String, Object>) s.get("environment")).forEach((k, v) -> env.put(k, String.valueOf(v)));
    return env;
  }

  /** The command with the container's paths made local: the store volume, and a service's state directory. */
  private static List<String> containerPaths(List<String> command, Path store, Path stateDir) {
    return command.stream().map(a -> {
      if (store != null && a.equals("/var/lib/streamtune/store")) {
        return store.toString();
      }
      if (stateDir != null && a.matches("streamtune\\.[a-z]+\\.state\\.dir=.*")) {
        return a.substring(0, a.indexOf('=') + 1) + stateDir;
      }
      return a;
    }).toList();
  }

  private static String seconds(long nanos) {
    return String.format("%.1f s", nanos / 1e9);
  }
}
