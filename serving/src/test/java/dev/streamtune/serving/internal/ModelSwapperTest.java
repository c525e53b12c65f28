package dev.streamtune.serving.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.records.Promotion;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestModels;
import dev.streamtune.serving.Fixtures;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ModelSwapperTest {
  private static DirectoryModelStore store;
  private static Manifest v1;
  private static Manifest v2;
  private final ModelHolder holder = new ModelHolder();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final ServingMetrics metrics = new ServingMetrics("fashion");
  private final ModelSwapper swapper;

  ModelSwapperTest() {
    metrics.bindTo(registry);
    swapper = new ModelSwapper(store, "fashion", holder, 4, metrics);
  }

  @BeforeAll
  static void store() {
    store = new DirectoryModelStore(TestData.tempDir("swapper-store"));
    v1 = TestModels.storeBase(store, "fashion", 256);
    v2 = store.save("fashion", Fixtures.net(2), v1.spec(), 1, v1.training(), Map.of());
  }

  private static Promotion promotion(int version, String sha) {
    return new Promotion(Versioned.CURRENT, "fashion", version, store.uri("fashion", version), sha, "test", Instant.now());
  }

  private double swaps(String outcome) {
    // summed over the version that was serving when each swap came
    return registry.find(ServingMetrics.SWAPS).tags("model", "fashion", "outcome", outcome).counters().stream()
        .mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
  }

  @Test
  void shouldServeTheBaseModelWhenNothingWasPromoted() {
    assertThat(swapper.serveBase()).isTrue();

    assertThat(holder.version()).hasValue(1);
    assertThat(registry.get(ServingMetrics.MODEL_VERSION).gauge().value()).isEqualTo(1.0);
    assertThat(swaps("ok")).isEqualTo(1.0);
    assertThat(registry.get(ServingMetrics.SWAPS).tags("version", "0", "outcome", "ok").counter().count())
        .as("the first swap, counted while nothing served").isEqualTo(1.0);
    for (String outcome : new String[] {"ok", "failed"}) {
      assertThat(registry.get(ServingMetrics.SWAPS).tags("version", "1", "outcome", outcome).counter().count())
          .as("the next swap's counter, at 0 while v1 serves").isZero();
    }
  }

  /** A network that takes the model's 28x28 grey input but answers 3 labels where the spec names 10. */
  private static org.deeplearning4j.nn.multilayer.MultiLayerNetwork threeLabels() {
    var conf = new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder().seed(1).list()
        .layer(new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder().nOut(3)
            .activation(org.nd4j.linalg.activations.Activation.SOFTMAX).build())
        .setInputType(org.deeplearning4j.nn.conf.inputs.InputType.convolutional(28, 28, 1)).build();
    var net = new org.deeplearning4j.nn.multilayer.MultiLayerNetwork(conf);
    net.init();
    return net;
  }

  @Test
  void shouldWarmUpEveryWorkersCopyAndRefuseAVersionWhoseCopyDoesNotRun() {
    InferenceBatcher batcher = new InferenceBatcher(holder, 4, java.time.Duration.ofMillis(1), 16, 2, metrics, null);
    java.util.List<dev.streamtune.core.model.Network> copies = new java.util.ArrayList<>();
    ModelSwapper twoWorkers = new ModelSwapper(store, "fashion", holder, 4, metrics, () -> InferenceBatcher.Recent.NONE, m -> {
      java.util.List<dev.streamtune.core.model.Network> made = batcher.replicate(m);
      copies.addAll(made);
      return made;
    });
    assertThat(twoWorkers.serveBase()).isTrue();
    assertThat(copies).hasSize(1);
    assertThat(copies.get(0)).isNotSameAs(holder.current().network());

    // a copy that answers another shape than the spec's labels fails the warm-up: the version is refused, v1 keeps serving
    ModelSwapper brokenCopy = new ModelSwapper(store, "fashion", holder, 4, metrics, () -> InferenceBatcher.Recent.NONE,
        m -> java.util.List.of(dev.streamtune.core.model.Network.of(threeLabels())));
    assertThat(brokenCopy.apply(promotion(2, v2.sha256()))).isFalse();
    assertThat(holder.version()).hasValue(1);
    batcher.close();
  }

  @Test
  void shouldStayEmptyWhenTheStoreHoldsNoModel() {
    ModelSwapper empty = new ModelSwapper(new DirectoryModelStore(TestData.tempDir("empty-store")), "fashion", holder, 4, metrics);

    assertThat(empty.serveBase()).isFalse();
    assertThat(holder.current()).isNull();
    assertThat(registry.get(ServingMetrics.MODEL_VERSION).gauge().value()).isZero();
  }

  @Test
  void shouldKeepServingTheOldModelWhenAPromotionFailsVerification() {
    swapper.serveBase();

    assertThat(swapper.apply(promotion(2, "ab".repeat(32)))).isFalse();
    assertThat(holder.version()).hasValue(1);
    assertThat(swaps("failed")).isEqualTo(1.0);

    assertThat(swapper.apply(promotion(7, "ab".repeat(32)))).isFalse();
    assertThat(holder.version()).hasValue(1);
    assertThat(swaps("failed")).isEqualTo(2.0);

    assertThat(swapper.apply(promotion(2, v2.sha256()))).isTrue();
    assertThat(holder.version()).hasValue(2);
    assertThat(holder.current().manifest().sha256()).isEqualTo(v2.sha256());
    assertThat(registry.get(ServingMetrics.MODEL_VERSION).gauge().value()).isEqualTo(2.0);
  }

  @Test
  void shouldServeTheNewestPromotionThatLoadsOnBoot() {
    List<Promotion> history = List.of(promotion(1, v1.sha256()), promotion(2, v2.sha256()), promotion(1, "cd".repeat(32)));

    assertThat(swapper.applyNewest(history)).isTrue();

    // the newest (v1 with a wrong checksum) fails; the one before it (v2) serves, and v1 is not tried twice
    assertThat(holder.version()).hasValue(2);
    assertThat(swaps("failed")).isEqualTo(1.0);
    assertThat(swaps("ok")).isEqualTo(1.0);
  }

  @Test
  void shouldNotReloadTheVersionItServes() {
    swapper.apply(promotion(2, v2.sha256()));
    var served = holder.current();

    assertThat(swapper.apply(promotion(2, v2.sha256()))).isTrue();
    assertThat(holder.current()).isSameAs(served);
    assertThat(swaps("ok")).isEqualTo(1.0);
  }

  @Test
  void shouldRollBackToAKeptVersionWithoutReloadingItAndStillVerifyTheAnnouncedChecksum() {
    ModelHolder keeping = new ModelHolder(1);
    ModelSwapper s = new ModelSwapper(store, "fashion", keeping, 4, metrics);
    assertThat(s.serveBase()).isTrue();
    var base = keeping.current();
    assertThat(s.apply(promotion(2, v2.sha256()))).isTrue();
    assertThat(keeping.loadedVersions()).containsExactly(1, 2);

    assertThat(s.apply(promotion(1, "ab".repeat(32)))).as("a wrong checksum is refused even for a kept version").isFalse();
    assertThat(keeping.version()).hasValue(2);

    assertThat(s.apply(promotion(1, v1.sha256()))).isTrue();
    assertThat(keeping.current()).as("the kept model, not a reload").isSameAs(base);
    assertThat(keeping.loadedVersions()).containsExactly(1, 2);
    assertThat(registry.get(ServingMetrics.MODEL_VERSION).gauge().value()).isEqualTo(1.0);
  }

  @Test
  void shouldLoadTheVersionsServedBeforeTheNewestOnBootAsARunningNodeWouldHoldThem() {
    ModelHolder keeping = new ModelHolder(2);
    ModelSwapper s = new ModelSwapper(store, "fashion", keeping, 4, metrics);

    assertThat(s.applyNewest(List.of(promotion(2, v2.sha256())))).isTrue();

    assertThat(keeping.version()).hasValue(2);
    assertThat(keeping.loadedVersions()).as("the base served before the first promotion").containsExactly(1, 2);
    assertThat(keeping.get(1).orElseThrow().manifest().sha256()).isEqualTo(v1.sha256());

    ModelHolder one = new ModelHolder(0);
    new ModelSwapper(store, "fashion", one, 4, metrics).applyNewest(List.of(promotion(1, v1.sha256()), promotion(2, v2.sha256())));
    assertThat(one.loadedVersions()).containsExactly(2);
  }
}
