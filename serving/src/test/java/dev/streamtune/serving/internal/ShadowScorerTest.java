package dev.streamtune.serving.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.records.ShadowScore;
import dev.streamtune.serving.Fixtures;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Shadow scoring on the real inference worker with small real networks: what it publishes, and that requests never pay for it. */
class ShadowScorerTest {
  private static final Duration PATIENCE = Duration.ofSeconds(30);
  private final ModelHolder holder = new ModelHolder();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final ServingMetrics metrics = new ServingMetrics("fashion");
  private final List<ShadowScore> published = Collections.synchronizedList(new ArrayList<>());
  private final List<AutoCloseable> toClose = new ArrayList<>();

  ShadowScorerTest() {
    metrics.bindTo(registry);
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : toClose) {
      c.close();
    }
  }

  private ShadowScorer scorer(double share, int queueMax, int summaryInputs) {
    ShadowScorer s = new ShadowScorer("fashion", "node-a", share, queueMax, summaryInputs, Duration.ofHours(1), metrics,
        published::add, Clock.systemUTC());
    return s;
  }

  private InferenceBatcher batcher(ShadowScorer shadow) {
    InferenceBatcher b = new InferenceBatcher(holder, 4, Duration.ofMillis(1), 256, metrics, shadow);
    b.start();
    toClose.add(b);
    toClose.add(shadow); // closed after the batcher
    return b;
  }

  /** Sends images {@code [0, n)} in a few concurrent waves and returns the answers, in image order. */
  private static List<Inference> answer(InferenceBatcher b, LoadedModel champion, int n) throws Exception {
    List<CompletableFuture<Inference>> futures = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      futures.add(b.submit(null, Fixtures.image(i), champion.spec(), 1));
    }
    List<Inference> out = new ArrayList<>();
    for (CompletableFuture<Inference> f : futures) {
      out.add(f.get(60, TimeUnit.SECONDS));
    }
    return out;
  }

  private double count(String name, String... tags) {
    return registry.find(name).tags(tags).counters().stream().mapToDouble(Counter::count).sum();
  }

  private double gauge(String name, String... tags) {
    return registry.get(name).tags(tags).gauge().value();
  }

  @Test
  void shouldScoreTheAnsweredImagesInTheShadowAndPublishWindowsThatMatchBothModels() throws Exception {
    MultiLayerNetwork championNet = Fixtures.net(1);
    MultiLayerNetwork shadowNet = Fixtures.net(2); // trained from another seed: agrees on most images, not all
    int n = 40;
    int agreed = 0;
    double championSum = 0;
    double shadowSum = 0;
    for (int i = 0; i < n; i++) {
      Map.Entry<String, Double> c = top(Fixtures.direct(championNet, Fixtures.image(i)));
      Map.Entry<String, Double> s = top(Fixtures.direct(shadowNet, Fixtures.image(i)));
      agreed += c.getKey().equals(s.getKey()) ? 1 : 0;
      championSum += c.getValue();
      shadowSum += s.getValue();
    }
    LoadedModel champion = Fixtures.loaded("fashion", 1, championNet);
    holder.swap(champion);
    ShadowScorer shadow = scorer(1.0, 64, 10);
    InferenceBatcher b = batcher(shadow);
    shadow.start();
    shadow.use(Fixtures.loaded("fashion", 2, shadowNet), 1);
    assertThat(shadow.current()).contains(new ShadowScorer.Pair(2, 1));
    assertThat(gauge(ServingMetrics.SHADOW_VERSION, "model", "fashion")).isEqualTo(2.0);

    List<Inference> answers = answer(b, champion, n);

    assertThat(answers).allSatisfy(a -> assertThat(a.version()).as("answered by the champion").isEqualTo(1));
    Fixtures.await(PATIENCE, "every image scored in the shadow",
        () -> count(ServingMetrics.SHADOW_SCORED, "version", "2", "champion", "1") == n);
    shadow.drop("test over"); // publishes the last window
    Fixtures.await(PATIENCE, "windows of every scored image",
        () -> published.stream().mapToLong(ShadowScore::inputs).sum() == n);

    assertThat(published).allSatisfy(w -> {
      assertThat(w.model()).isEqualTo("fashion");
      assertThat(w.championVersion()).isEqualTo(1);
      assertThat(w.shadowVersion()).isEqualTo(2);
      assertThat(w.node()).isEqualTo("node-a");
      assertThat(w.windowEnd()).isAfterOrEqualTo(w.windowStart());
    });
    assertThat(published.size()).as("a window per 10 scored images, give or take a batch").isBetween(3, n);
    assertThat(published.stream().mapToLong(ShadowScore::agreed).sum()).isEqualTo(agreed);
    assertThat(published.stream().mapToDouble(w -> w.championMeanConfidence() * w.inputs()).sum()).isCloseTo(championSum,
        within(1e-3));
    assertThat(published.stream().mapToDouble(w -> w.shadowMeanConfidence() * w.inputs()).sum()).isCloseTo(shadowSum,
        within(1e-3));
    assertThat(agreed).as("two networks of other seeds disagree somewhere").isLessThan(n).isGreaterThan(n / 2);
    assertThat(count(ServingMetrics.SHADOW_AGREED, "version", "2", "champion", "1")).isEqualTo(agreed);
    assertThat(gauge(ServingMetrics.SHADOW_AGREEMENT, "version", "2", "champion", "1")).isCloseTo(agreed / (double) n,
        within(1e-9));
    assertThat(gauge(ServingMetrics.SHADOW_CONFIDENCE, "version", "2", "role", "shadow")).isCloseTo(shadowSum / n, within(1e-4));
    assertThat(gauge(ServingMetrics.SHADOW_CONFIDENCE, "version", "2", "role", "champion")).isCloseTo(championSum / n,
        within(1e-4));
    assertThat(gauge(ServingMetrics.SHADOW_VERSION, "model", "fashion")).isZero();
    assertThat(count(ServingMetrics.SHADOW_DROPPED)).isZero();
  }

  @Test
  void shouldAnswerEveryRequestFromTheChampionWhenTheShadowFailsAndCountItsImages() throws Exception {
    LoadedModel champion = Fixtures.loaded("fashion", 1, Fixtures.net(1));
    holder.swap(champion);
    ShadowScorer shadow = scorer(1.0, 64, 10);
    InferenceBatcher b = batcher(shadow);
    shadow.start();
    shadow.use(Fixtures.loaded("fashion", 2, null), 1); // its network is missing: every output() throws

    List<Inference> answers = answer(b, champion, 24);

    assertThat(answers).hasSize(24).allSatisfy(a -> assertThat(a.version()).isEqualTo(1));
    Fixtures.await(PATIENCE, "the shadow's failures counted",
        () -> count(ServingMetrics.SHADOW_DROPPED, "version", "2", "reason", "error") == 24);
    assertThat(count(ServingMetrics.SHADOW_SCORED, "version", "2")).isZero();
    assertThat(published).isEmpty();
  }

  @Test
  void shouldDropAndCountBatchesWhileTheShadowIsBehindWithoutHoldingARequest() throws Exception {
    LoadedModel champion = Fixtures.loaded("fashion", 1, Fixtures.net(1));
    holder.swap(champion);
    ShadowScorer shadow = scorer(1.0, 1, 10);
    InferenceBatcher b = batcher(shadow);
    // its thread is not started: a shadow that never catches up; one batch fits in its queue
    shadow.use(Fixtures.loaded("fashion", 2, Fixtures.net(2)), 1);

    List<Inference> answers = answer(b, champion, 32);

    assertThat(answers).hasSize(32).allSatisfy(a -> assertThat(a.version()).isEqualTo(1));
    Fixtures.await(PATIENCE, "the batches beyond the queue dropped",
        () -> count(ServingMetrics.SHADOW_DROPPED, "version", "2", "champion", "1", "reason", "queue-full") >= 28);
    double dropped = count(ServingMetrics.SHADOW_DROPPED, "version", "2", "champion", "1", "reason", "queue-full");
    assertThat(dropped).as("all but the one queued batch (at most 4 images)").isBetween(28.0, 31.0);
  }

  @Test
  void shouldPickOnlyTheImagesOfTheShadowsParentAndAboutItsShare() throws Exception {
    LoadedModel champion = Fixtures.loaded("fashion", 1, Fixtures.net(1));
    holder.swap(champion);
    ShadowScorer shadow = scorer(0.25, 256, 1000);
    InferenceBatcher b = batcher(shadow);
    shadow.start();
    shadow.use(Fixtures.loaded("fashion", 3, Fixtures.net(2)), 2); // a candidate of v2, which does not serve here

    answer(b, champion, 40);
    shadow.use(Fixtures.loaded("fashion", 2, Fixtures.net(2)), 1);
    answer(b, champion, 200);

    double[] last = {-1};
    Fixtures.await(PATIENCE, "the shadow done with its queue", () -> {
      double now = count(ServingMetrics.SHADOW_SCORED, "version", "2");
      boolean settled = now > 0 && now == last[0];
      last[0] = now;
      sleep(300);
      return settled;
    });
    assertThat(count(ServingMetrics.SHADOW_SCORED, "version", "3")).as("v1's answers are no evidence about v2's candidate")
        .isZero();
    // 200 images at 0.25: 50 expected; 20..80 holds with a probability above 1 - 1e-8
    assertThat(count(ServingMetrics.SHADOW_SCORED, "version", "2", "champion", "1")).isBetween(20.0, 80.0);
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static Map.Entry<String, Double> top(Map<String, Double> probabilities) {
    return Collections.max(probabilities.entrySet(), Map.Entry.comparingByValue());
  }
}
