package dev.streamtune.serving.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.records.LabelProbability;
import dev.streamtune.serving.Fixtures;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class InferenceBatcherTest {
  private static final int IMAGES = 64;
  private final ModelHolder holder = new ModelHolder();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final ServingMetrics metrics = new ServingMetrics("fashion");
  private final List<AutoCloseable> toClose = new ArrayList<>();

  InferenceBatcherTest() {
    metrics.bindTo(registry);
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : toClose) {
      c.close();
    }
  }

  private InferenceBatcher batcher(int maxBatch, Duration wait, int queue) {
    InferenceBatcher b = new InferenceBatcher(holder, maxBatch, wait, queue, metrics);
    toClose.add(b);
    return b;
  }

  /** Expected label → probability per test image, by a direct output() on a batch of one (before any worker uses the net). */
  private static List<Map<String, Double>> expected(MultiLayerNetwork net) {
    List<Map<String, Double>> out = new ArrayList<>();
    for (int i = 0; i < IMAGES; i++) {
      out.add(Fixtures.direct(net, Fixtures.image(i)));
    }
    return out;
  }

  private static ModelSpec spec(LoadedModel m) {
    return m.spec();
  }

  private static void assertAnswers(Inference answer, Map<String, Double> expected) {
    assertThat(answer.topK()).hasSize(FashionMnist.LABELS.size());
    for (LabelProbability lp : answer.topK()) {
      assertThat(lp.probability()).as(lp.label()).isCloseTo(expected.get(lp.label()), within(1e-5));
    }
    for (int i = 1; i < answer.topK().size(); i++) {
      assertThat(answer.topK().get(i).probability()).isLessThanOrEqualTo(answer.topK().get(i - 1).probability());
    }
  }

  @Test
  void shouldRunEachWorkerOnItsOwnCopyOfTheModel() throws Exception {
    MultiLayerNetwork net = Fixtures.net(1);
    List<Map<String, Double>> expected = expected(net);
    LoadedModel v1 = Fixtures.loaded("fashion", 1, net);
    holder.swap(v1);
    InferenceBatcher batcher = new InferenceBatcher(holder, 8, Duration.ofMillis(5), 1024, 3, metrics, null);
    toClose.add(batcher);
    assertThat(batcher.workers()).isEqualTo(3);
    List<Network> copies = batcher.replicate(v1);
    assertThat(copies).hasSize(2).allSatisfy(c -> assertThat(c).isNotSameAs(v1.network()));
    // the second worker's copy is spoiled on purpose: its answers (all labels 0.1) show that it ran that copy, not the shared one
    copies.get(0).multiLayer().params().assign(0);
    batcher.start();

    int fromOriginal = 0;
    int fromSpoiled = 0;
    for (int wave = 0; wave < 100 && (fromOriginal == 0 || fromSpoiled == 0); wave++) {
      List<CompletableFuture<Inference>> answers = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        answers.add(batcher.submit(Fixtures.png(i), Fixtures.image(i), spec(v1), 10));
      }
      for (int i = 0; i < 8; i++) {
        Inference a = answers.get(i).get(60, TimeUnit.SECONDS);
        if (a.topK().stream().allMatch(lp -> Math.abs(lp.probability() - 0.1) < 1e-6)) {
          fromSpoiled++;
        } else {
          assertAnswers(a, expected.get(i));
          fromOriginal++;
        }
      }
      Thread.sleep(wave % 3);
    }
    assertThat(fromOriginal).as("answers by workers 0 and 2").isPositive();
    assertThat(fromSpoiled).as("answers by worker 1").isPositive();
  }

  @Test
  void shouldAnswerConcurrentRequestsInBatchesExactlyAsADirectOutput() throws Exception {
    MultiLayerNetwork net = Fixtures.net(1);
    List<Map<String, Double>> expected = expected(net);
    LoadedModel v1 = Fixtures.loaded("fashion", 1, net);
    holder.swap(v1);
    InferenceBatcher batcher = batcher(16, Duration.ofMillis(50), 1024);
    batcher.start();

    ExecutorService clients = Executors.newFixedThreadPool(8);
    try {
      List<Future<List<Inference>>> perClient = new ArrayList<>();
      for (int c = 0; c < 8; c++) {
        int client = c;
        perClient.add(clients.submit(() -> {
          List<CompletableFuture<Inference>> mine = new ArrayList<>();
          for (int i = client; i < IMAGES; i += 8) {
            mine.add(batcher.submit(Fixtures.png(i), Fixtures.image(i), spec(v1), 10));
          }
          List<Inference> answers = new ArrayList<>();
          for (CompletableFuture<Inference> f : mine) {
            answers.add(f.get(60, TimeUnit.SECONDS));
          }
          return answers;
        }));
      }
      int maxBatch = 0;
      for (int c = 0; c < 8; c++) {
        List<Inference> answers = perClient.get(c).get(120, TimeUnit.SECONDS);
        for (int j = 0; j < answers.size(); j++) {
          Inference a = answers.get(j);
          assertThat(a.model()).isEqualTo("fashion");
          assertThat(a.version()).isEqualTo(1);
          assertAnswers(a, expected.get(c + 8 * j));
          maxBatch = Math.max(maxBatch, a.batchSize());
        }
      }
      assertThat(maxBatch).as("largest batch").isGreaterThan(1).isLessThanOrEqualTo(16);
      assertThat(registry.get(ServingMetrics.BATCH_SIZE).summary().totalAmount()).isEqualTo(IMAGES);
      assertThat(registry.get(ServingMetrics.BATCH_SIZE).summary().count()).isLessThan(IMAGES);
    } finally {
      clients.shutdownNow();
    }
  }

  @Test
  void shouldAnswerWithTheNewVersionAfterASwapWhileNoRequestFails() throws Exception {
    MultiLayerNetwork netA = Fixtures.net(1);
    MultiLayerNetwork netB = Fixtures.net(2);
    Map<Integer, List<Map<String, Double>>> expected = Map.of(1, expected(netA), 2, expected(netB));
    LoadedModel v1 = Fixtures.loaded("fashion", 1, netA);
    LoadedModel v2 = Fixtures.loaded("fashion", 2, netB);
    assertThat(expected.get(1).get(0)).isNotEqualTo(expected.get(2).get(0));
    holder.swap(v1);
    InferenceBatcher batcher = batcher(8, Duration.ofMillis(2), 1024);
    batcher.start();

    AtomicBoolean swapped = new AtomicBoolean();
    AtomicBoolean stop = new AtomicBoolean();
    record Answer(int image, boolean submittedAfterSwap, Inference inference) {}
    List<Answer> answers = Collections.synchronizedList(new ArrayList<>());
    ExecutorService clients = Executors.newFixedThreadPool(4);
    List<Future<?>> running = new ArrayList<>();
    try {
      for (int c = 0; c < 4; c++) {
        int client = c;
        running.add(clients.submit(() -> {
          for (int i = client; !stop.get(); i = (i + 4) % IMAGES) {
            boolean after = swapped.get();
            Inference a = batcher.submit(Fixtures.png(i), Fixtures.image(i), v1.spec(), 10).get(60, TimeUnit.SECONDS);
            answers.add(new Answer(i, after, a));
          }
          return null;
        }));
      }
      Fixtures.await(Duration.ofSeconds(60), "20 answers before the swap", () -> answers.size() >= 20);
      holder.swap(v2);
      swapped.set(true);
      Fixtures.await(Duration.ofSeconds(60), "20 answers submitted after the swap",
          () -> {
            synchronized (answers) { // a synchronized list's stream must hold its lock while clients add
              return answers.stream().filter(Answer::submittedAfterSwap).count() >= 20;
            }
          });
      stop.set(true);
      for (Future<?> f : running) {
        f.get(60, TimeUnit.SECONDS); // rethrows any failed request
      }
    } finally {
      stop.set(true);
      clients.shutdownNow();
    }

    List<Answer> all = List.copyOf(answers);
    assertThat(all).filteredOn(Answer::submittedAfterSwap).isNotEmpty()
        .allSatisfy(a -> assertThat(a.inference().version()).isEqualTo(2));
    assertThat(all).extracting(a -> a.inference().version()).contains(1, 2);
    // every answer was computed by the network of the version it names, including batches in flight during the swap
    for (Answer a : all) {
      assertAnswers(a.inference(), expected.get(a.inference().version()).get(a.image()));
    }
  }

  @Test
  void shouldRefuseAtOnceWhenTheQueueIsFullAndRefuseQueuedRequestsOnClose() {
    holder.swap(Fixtures.loaded("fashion", 1, Fixtures.net(1)));
    InferenceBatcher batcher = batcher(4, Duration.ZERO, 2); // not started: nothing drains the queue
    ModelSpec spec = holder.current().spec();
    CompletableFuture<Inference> first = batcher.submit(Fixtures.png(0), Fixtures.image(0), spec, 3);
    CompletableFuture<Inference> second = batcher.submit(Fixtures.png(1), Fixtures.image(1), spec, 3);

    assertThatThrownBy(() -> batcher.submit(Fixtures.png(2), Fixtures.image(2), spec, 3))
        .isInstanceOfSatisfying(ServingRejection.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.QUEUE_FULL));
    assertThat(batcher.depth()).isEqualTo(2);

    batcher.close();
    for (CompletableFuture<Inference> f : List.of(first, second)) {
      assertThatThrownBy(f::get).isInstanceOf(ExecutionException.class).cause()
          .isInstanceOfSatisfying(ServingRejection.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.SHUTTING_DOWN));
    }
    assertThatThrownBy(() -> batcher.submit(Fixtures.png(0), Fixtures.image(0), spec, 3))
        .isInstanceOfSatisfying(ServingRejection.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.SHUTTING_DOWN));
  }

  @Test
  void shouldRefuseRequestsWhileNoModelIsLoaded() {
    InferenceBatcher batcher = batcher(4, Duration.ZERO, 8);
    batcher.start();
    ModelSpec spec = Fixtures.loaded("fashion", 1, null).spec();

    CompletableFuture<Inference> f = batcher.submit(Fixtures.png(0), Fixtures.image(0), spec, 3);

    assertThatThrownBy(() -> f.get(60, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class).cause()
        .isInstanceOfSatisfying(ServingRejection.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.NO_MODEL));
  }

  @Test
  void shouldCutTheTopKToWhatEachRequestAsked() throws Exception {
    MultiLayerNetwork net = Fixtures.net(1);
    Map<String, Double> expected0 = Fixtures.direct(net, Fixtures.image(0));
    holder.swap(Fixtures.loaded("fashion", 1, net));
    InferenceBatcher batcher = batcher(4, Duration.ofMillis(20), 8);
    ModelSpec spec = holder.current().spec();
    CompletableFuture<Inference> one = batcher.submit(Fixtures.png(0), Fixtures.image(0), spec, 1);
    CompletableFuture<Inference> many = batcher.submit(Fixtures.png(0), Fixtures.image(0), spec, 50);
    batcher.start();

    String best = expected0.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
    assertThat(one.get(60, TimeUnit.SECONDS).topK()).extracting(LabelProbability::label).containsExactly(best);
    assertThat(many.get(60, TimeUnit.SECONDS).topK()).hasSize(FashionMnist.LABELS.size());
    assertThat(one.get().batchSize()).isEqualTo(2);
  }

  @Test
  void shouldRunEachPinnedRequestOnTheModelItAskedForWithinOneBatch() throws Exception {
    MultiLayerNetwork netA = Fixtures.net(1);
    MultiLayerNetwork netB = Fixtures.net(2);
    Map<String, Double> a0 = Fixtures.direct(netA, Fixtures.image(0));
    Map<String, Double> b0 = Fixtures.direct(netB, Fixtures.image(0));
    LoadedModel v1 = Fixtures.loaded("fashion", 1, netA);
    LoadedModel v2 = Fixtures.loaded("fashion", 2, netB);
    holder.swap(v1);
    holder.swap(v2);
    InferenceBatcher batcher = batcher(8, Duration.ofMillis(20), 16); // not started yet: all four wait for one batch
    List<InferenceBatcher.Input> one = List.of(new InferenceBatcher.Input(Fixtures.png(0), Fixtures.image(0)));
    CompletableFuture<Inference> pinned1 = batcher.submit(one, v1, 10).get(0);
    CompletableFuture<Inference> pinned2 = batcher.submit(one, v2, 10).get(0);
    CompletableFuture<Inference> unpinned = batcher.submit(Fixtures.png(0), Fixtures.image(0), v2.spec(), 10);
    CompletableFuture<Inference> pinned1Again = batcher.submit(one, v1, 10).get(0);
    batcher.start();

    assertThat(pinned1.get(60, TimeUnit.SECONDS).version()).isEqualTo(1);
    assertAnswers(pinned1.get(), a0);
    assertAnswers(pinned1Again.get(60, TimeUnit.SECONDS), a0);
    assertThat(pinned2.get(60, TimeUnit.SECONDS).version()).isEqualTo(2);
    assertAnswers(pinned2.get(), b0);
    assertThat(unpinned.get(60, TimeUnit.SECONDS).version()).as("the serving one").isEqualTo(2);
    assertAnswers(unpinned.get(), b0);
    assertThat(pinned1.get().batchSize()).isEqualTo(2);
    assertThat(pinned1.get().probabilities()).hasSize(FashionMnist.LABELS.size());
    assertThat(registry.get(ServingMetrics.BATCH_SIZE).summary().count()).as("one output() per model").isEqualTo(2);
  }

  @Test
  void shouldQueueTheImagesOfOneRequestAllOrNone() {
    LoadedModel v1 = Fixtures.loaded("fashion", 1, Fixtures.net(1));
    holder.swap(v1);
    InferenceBatcher batcher = batcher(4, Duration.ZERO, 3); // not started
    InferenceBatcher.Input in = new InferenceBatcher.Input(Fixtures.png(0), Fixtures.image(0));
    batcher.submit(List.of(in, in), v1, 3);

    assertThatThrownBy(() -> batcher.submit(List.of(in, in), v1, 3))
        .isInstanceOfSatisfying(ServingRejection.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.QUEUE_FULL));
    assertThat(batcher.depth()).isEqualTo(2);
  }
}
