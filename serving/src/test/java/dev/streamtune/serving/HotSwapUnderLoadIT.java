package dev.streamtune.serving;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.ServiceState;
import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topic;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.records.Promotion;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestKafka;
import dev.streamtune.core.testing.TestModels;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Many promotions and rollbacks among three stored versions while six clients post real Fashion-MNIST images to
 * {@code /predict} over real HTTP: no request fails, and every answer names a version that had been published (or the base)
 * before the answer arrived. With one previous version kept loaded and the promotions cycling through three versions, every
 * promotion names a version no longer in memory, so every swap is a real load from disk (read, verified, warmed up) under load.
 */
class HotSwapUnderLoadIT {
  private static final Duration PATIENCE = Duration.ofSeconds(30);
  private static final Topics TOPICS = Topics.withDefaultPrefix();
  private static final int CLIENTS = 6;
  private static final int PROMOTIONS = 20;
  /** How long each promoted version serves under load before the next promotion. */
  private static final long PAUSE_MS = 200;
  /** A bound per client, so a stuck stop flag cannot make the test run away. */
  private static final int MAX_REQUESTS_PER_CLIENT = 20_000;
  private static EmbeddedKafkaBroker broker;
  private static String bootstrap;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10)).build();

  /** One answer (or failure): when the request was sent and answered (monotonic nanos and wall clock), status and version. */
  private record Answer(int client, long sentNanos, long receivedNanos, Instant received, int status, int version, String error) {}

  /** One published promotion: when it was handed to the producer (monotonic nanos and wall clock) and which version. */
  private record Published(long sentNanos, Instant sent, int version) {}

  @BeforeAll
  static void startBroker() {
    broker = TestKafka.startWith(TOPICS);
    bootstrap = broker.bootstrapServers();
  }

  @AfterAll
  static void stopBroker() {
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void shouldAnswerEveryRequestWithAPublishedVersionWhilePromotionsAndRollbacksFlipAmongThreeVersions() throws Exception {
    DirectoryModelStore store = new DirectoryModelStore(TestData.tempDir("hotswap-it-store"));
    Manifest v1 = TestModels.storeBase(store, "fashion", 1000);
    Manifest v2 = store.save("fashion", Fixtures.net(11), v1.spec(), 1, v1.training(), Map.of());
    Manifest v3 = store.save("fashion", Fixtures.net(13), v1.spec(), 2, v1.training(), Map.of());
    Map<Integer, Manifest> manifests = Map.of(1, v1, 2, v2, 3, v3);
    assertThat(List.of(v1.version(), v2.version(), v3.version())).containsExactly(1, 2, 3);
    assertThat(new HashSet<>(List.of(v1.sha256(), v2.sha256(), v3.sha256()))).hasSize(3);

    ServingConfig config = ServingConfig.from(Settings.of(Map.of("streamtune.bootstrap", bootstrap,
        "streamtune.store.dir", store.root().toString(), "streamtune.model", "fashion",
        "streamtune.serving.port", "0", "streamtune.serving.grpc-port", "0", "streamtune.serving.host", "localhost", "streamtune.serving.versions.keep", "1",
        // every promotion swaps: the rate limit has its own test below
        "streamtune.serving.swap.min-interval", "0ms")));
    try (ServingService serving = new ServingService(config)) {
      serving.start();
      Fixtures.await(PATIENCE, "serving ready", () -> serving.state() == ServiceState.RUNNING);
      assertThat(serving.servingVersion()).hasValue(1);
      int base = 1;
      ServingStats atStart = serving.stats();
      assertThat(atStart.modelLoads()).as("the base loaded at boot").isEqualTo(1);

      List<Published> published = new CopyOnWriteArrayList<>();
      ConcurrentLinkedQueue<Answer> answers = new ConcurrentLinkedQueue<>();
      AtomicBoolean stop = new AtomicBoolean();
      ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
      List<Future<?>> running = new ArrayList<>();
      int last;
      long lastSwappedNanos;
      try {
        for (int c = 0; c < CLIENTS; c++) {
          int client = c;
          running.add(clients.submit(() -> {
            for (int i = 0; i < MAX_REQUESTS_PER_CLIENT && !stop.get(); i++) {
              answers.add(predict(serving, client, Fixtures.png((client * 37 + i) % 200)));
            }
            return null;
          }));
        }
        Fixtures.await(PATIENCE, "answers from the base under load", () -> answers.size() >= 20);
        Thread.sleep(1_000); // steady traffic before the first swap: what the swaps' p99 is compared with

        // promotions and rollbacks: 2, 3, 1, 2, 3, 1, ... ending on 3; each one a different version from the one before
        Topic<String, Promotion> t = TOPICS.promotions;
        int previous = base;
        try (KafkaProducer<String, Promotion> producer = KafkaSupport.producer(bootstrap, "it-hotswap-promoter", t)) {
          for (int p = 0; p < PROMOTIONS; p++) {
            int version = p % 3 + 2 > 3 ? 1 : p % 3 + 2;
            Manifest m = manifests.get(version);
            String reason = version > previous ? "gate: better" : "rollback: operator";
            Promotion promotion = new Promotion(Versioned.CURRENT, "fashion", version, store.uri("fashion", version), m.sha256(),
                reason, Instant.now());
            // recorded before the send: a promotion cannot take effect before it was sent
            published.add(new Published(System.nanoTime(), Instant.now(), version));
            producer.send(new ProducerRecord<>(t.name(), "fashion", promotion)).get(30, TimeUnit.SECONDS);
            previous = version;
            // each promotion is applied before the next is sent (the follower would otherwise apply only the newest of a poll),
            // so each of them is one swap; the clients keep posting throughout
            Fixtures.await(PATIENCE, "v" + version + " serving (promotion " + (p + 1) + ")",
                () -> serving.servingVersion().orElse(-1) == version);
            Thread.sleep(PAUSE_MS);
          }
        }
        last = published.get(published.size() - 1).version();
        assertThat(last).isEqualTo(3);
        int expectLast = last;
        // a wait: the follower polls every 500 ms and applies the newest record of a batch, so an earlier promotion of the same
        // version cannot be mistaken for the last one once it has had time to read the whole topic
        Thread.sleep(2_000);
        Fixtures.await(PATIENCE, "the last promoted version serving", () -> serving.servingVersion().orElse(-1) == expectLast);
        lastSwappedNanos = System.nanoTime();
        // a wait under load after the last swap: requests sent from now on must be answered by the last version
        long before = answers.stream().filter(a -> a.sentNanos() > lastSwappedNanos).count();
        Fixtures.await(PATIENCE, "answers after the last swap",
            () -> answers.stream().filter(a -> a.sentNanos() > lastSwappedNanos).count() >= before + 30);
        stop.set(true);
        for (Future<?> f : running) {
          f.get(60, TimeUnit.SECONDS);
        }
      } finally {
        stop.set(true);
        clients.shutdownNow();
      }

      List<Answer> all = new ArrayList<>(answers);
      assertThat(published).hasSize(PROMOTIONS);

      // every promotion was a real load from disk: the version it named was no longer loaded (keep=1, three versions cycling)
      ServingStats swaps = serving.stats().minus(atStart);
      assertThat(swaps.modelLoads()).as("versions loaded from the store during the promotions").isEqualTo(PROMOTIONS);
      assertThat(swaps.swaps()).as("swaps during the promotions").isEqualTo(PROMOTIONS);
      assertThat(swaps.failedSwaps()).isZero();

      // zero failed requests
      assertThat(all).as("failed requests").allSatisfy(a -> assertThat(a.status()).as("status of %s", a).isEqualTo(200));

      // every answer names the base or a version whose promotion was sent before the answer arrived
      for (Answer a : all) {
        Set<Integer> allowed = new TreeSet<>();
        allowed.add(base);
        for (Published p : published) {
          if (p.sentNanos() <= a.receivedNanos()) {
            allowed.add(p.version());
          }
        }
        assertThat(allowed).as("versions published before %s", a).contains(a.version());
      }

      // all three versions answered
      Set<Integer> seen = new TreeSet<>();
      all.forEach(a -> seen.add(a.version()));
      assertThat(seen).containsExactly(1, 2, 3);

      // after the last promotion served: requests sent later are answered by it, under load and one by one
      List<Answer> afterLast = all.stream().filter(a -> a.sentNanos() > lastSwappedNanos).toList();
      assertThat(afterLast).isNotEmpty().allSatisfy(a -> assertThat(a.version()).as("version of %s", a).isEqualTo(last));
      for (int i = 0; i < 5; i++) {
        Answer a = predict(serving, -1, Fixtures.png(i));
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.version()).isEqualTo(last);
      }
      assertThat(serving.servingVersion()).hasValue(last);

      // the swaps' jitter was measured and published: back-to-back swaps share one window, which closed a second after the last
      Fixtures.await(PATIENCE, "the swap jitter published", () -> serving.stats().swapJitterCount() >= 1);
      double jitter = serving.stats().meanSwapJitter();
      assertThat(jitter).as("p99 during the swaps over the steady p99").isPositive().isFinite();
      String metrics = serving.registry().scrape();
      assertThat(metrics).contains("streamtune_serving_swap_p99_seconds{model=\"fashion\",",
          "streamtune_serving_swap_jitter_count{model=\"fashion\",", "streamtune_serving_swaps_superseded_total");

      Map<Integer, Long> perVersion = new java.util.TreeMap<>();
      all.forEach(a -> perVersion.merge(a.version(), 1L, Long::sum));
      System.out.printf("HotSwapUnderLoadIT: %d requests from %d clients, %d promotions/rollbacks (%s .. %s), %d loads from disk,"
          + " versions seen %s, answers per version %s, answers after the last swap %d, p99 during the swaps / steady %.2fx%n",
          all.size(), CLIENTS, published.size(), published.get(0).sent(), published.get(published.size() - 1).sent(),
          swaps.modelLoads(), seen, perVersion, afterLast.size(), jitter);
    }
  }

  @Test
  void shouldSwapAtMostOncePerMinimumIntervalAndNeverLoadAPromotionSupersededMeanwhile() throws Exception {
    DirectoryModelStore store = new DirectoryModelStore(TestData.tempDir("hotswap-interval-store"));
    Manifest v1 = TestModels.storeBase(store, "shoes", 1000);
    Map<Integer, Manifest> manifests = new java.util.HashMap<>(Map.of(1, v1));
    for (int v = 2; v <= 4; v++) {
      manifests.put(v, store.save("shoes", Fixtures.net(10 + v), v1.spec(), v - 1, v1.training(), Map.of()));
    }
    long interval = 4_000;
    ServingConfig config = ServingConfig.from(Settings.of(Map.of("streamtune.bootstrap", bootstrap,
        "streamtune.store.dir", store.root().toString(), "streamtune.model", "shoes",
        "streamtune.serving.port", "0", "streamtune.serving.grpc-port", "-1", "streamtune.serving.host", "localhost",
        "streamtune.serving.swap.min-interval", interval + "ms", "streamtune.serving.shadow.share", "0")));
    try (ServingService serving = new ServingService(config);
        KafkaProducer<String, Promotion> producer = KafkaSupport.producer(bootstrap, "it-interval-promoter", TOPICS.promotions)) {
      serving.start();
      Fixtures.await(PATIENCE, "serving ready", () -> serving.state() == ServiceState.RUNNING);
      ServingStats atStart = serving.stats();
      java.util.function.IntConsumer promote = version -> {
        Manifest m = manifests.get(version);
        try {
          producer.send(new ProducerRecord<>(TOPICS.promotions.name(), "shoes", new Promotion(Versioned.CURRENT, "shoes", version,
              store.uri("shoes", version), m.sha256(), "gate: better", Instant.now()))).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      };
      // the first swap after a quiet time is at once
      promote.accept(2);
      Fixtures.await(PATIENCE, "v2 serving", () -> serving.servingVersion().orElse(-1) == 2);
      long swapped = System.nanoTime();
      // two more within the interval, in separate polls: v3 waits and is superseded by v4, which serves once the interval passed
      promote.accept(3);
      Thread.sleep(1_200);
      assertThat(serving.servingVersion()).as("v3 waits for the interval").hasValue(2);
      promote.accept(4);
      Fixtures.await(PATIENCE, "v4 serving", () -> serving.servingVersion().orElse(-1) == 4);
      long waited = (System.nanoTime() - swapped) / 1_000_000;
      assertThat(waited).as("ms from the v2 swap to the v4 swap").isGreaterThanOrEqualTo(interval - 100);
      ServingStats after = serving.stats().minus(atStart);
      assertThat(after.modelLoads()).as("v2 and v4 loaded, v3 never").isEqualTo(2);
      assertThat(after.swaps()).isEqualTo(2);
      assertThat(serving.stats().superseded()).isEqualTo(1);
    }
  }

  /** Posts one image; never throws: a failure is an answer with status -1 and the error. */
  private Answer predict(ServingService s, int client, byte[] png) {
    long sent = System.nanoTime();
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + s.port() + "/predict"))
          .header("Content-Type", "image/png").timeout(Duration.ofSeconds(30))
          .POST(HttpRequest.BodyPublishers.ofByteArray(png)).build(), HttpResponse.BodyHandlers.ofString());
      long received = System.nanoTime();
      Instant at = Instant.now();
      if (r.statusCode() != 200) {
        return new Answer(client, sent, received, at, r.statusCode(), -1, r.body());
      }
      return new Answer(client, sent, received, at, 200, Json.MAPPER.readTree(r.body()).get("version").asInt(), null);
    } catch (Exception e) {
      return new Answer(client, sent, System.nanoTime(), Instant.now(), -1, -1, e.toString());
    }
  }
}
