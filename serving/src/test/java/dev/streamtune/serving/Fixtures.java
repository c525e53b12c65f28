package dev.streamtune.serving;

import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestModels;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Serving's test helpers: small real models made once per JVM (each caller gets its own copy), and waiting for an outcome. */
public final class Fixtures {
  private static final Map<Long, MultiLayerNetwork> NETS = new HashMap<>();

  private Fixtures() {}

  /** A copy of the CNN trained on 512 real images with a seed; copies, because a network has one owner at a time. */
  public static synchronized MultiLayerNetwork net(long seed) {
    return NETS.computeIfAbsent(seed, s -> TestModels.trainedCnn(512, s)).clone();
  }

  /** A model as the store would load it, without a store. */
  public static LoadedModel loaded(String model, int version, MultiLayerNetwork net) {
    Manifest m = new Manifest(Versioned.CURRENT, model, version, null, Instant.now(), "0".repeat(64),
        Networks.spec(FashionMnist.SIDE, FashionMnist.LABELS, Networks.DEFAULT_FREEZE_BOUNDARY), null, Map.of());
    return new LoadedModel(m, net == null ? null : Network.of(net));
  }

  public static float[] image(int i) {
    return TestData.test().images()[i];
  }

  public static byte[] png(int i) {
    return Images.toPng(image(i), 28, 28);
  }

  /** Label → probability of one image by a direct {@code output()} of a batch of one. */
  public static Map<String, Double> direct(MultiLayerNetwork net, float[] image) {
    INDArray out = net.output(Images.batch(List.of(image), 28, 28));
    Map<String, Double> m = new HashMap<>();
    for (int c = 0; c < FashionMnist.LABELS.size(); c++) {
      m.put(FashionMnist.LABELS.get(c), out.getDouble(0, c));
    }
    return m;
  }

  /** Waits until the condition holds, failing with the description after the timeout. Not a timing assertion: a bound. */
  public static void await(Duration timeout, String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("gave up after " + timeout.toSeconds() + " s waiting for: " + what);
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for: " + what);
      }
    }
  }
}
