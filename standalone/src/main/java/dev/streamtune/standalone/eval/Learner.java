package dev.streamtune.standalone.eval;

import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.Networks;
import dev.streamtune.trainer.FeatureCache;
import dev.streamtune.trainer.FineTuner;
import dev.streamtune.trainer.FreezePlan;
import dev.streamtune.trainer.Retrainer;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The learning steps of the evaluation, each through the code the trainer uses: {@link Retrainer} (from {@link FeatureCache}
 * activations when something is frozen), and {@link Networks#cnn} trained from scratch for the scratch
 * baseline and the oracle. Not thread-safe: one evaluation thread.
 */
final class Learner {
  static final int SIDE = FashionMnist.SIDE;
  /** The evaluation's images: the grey CNN's input. */
  private static final ModelSpec SPEC = Networks.spec(SIDE, FashionMnist.LABELS, Networks.DEFAULT_FREEZE_BOUNDARY);
  static final int BATCH = 64;
  static final double RATE = 1e-3;
  /** Epochs the oracle goes on without a better held-out accuracy before it stops (one noisy epoch does not stop it). */
  static final int ORACLE_PATIENCE = 2;

  /** A trained model and what it cost. */
  record Trained(MultiLayerNetwork net, String boundary, Map<String, Double> rates, double seconds, int epochs, String note) {}

  private final FeatureCache cache;
  private final long seed;

  Learner(FeatureCache cache, long seed) {
    this.cache = cache;
    this.seed = seed;
  }

  /** The predicted label index of each image. */
  static int[] predict(MultiLayerNetwork net, List<Labelled> xs) {
    int[] out = new int[xs.size()];
    for (int s = 0; s < xs.size(); s += 500) {
      List<Labelled> part = xs.subList(s, Math.min(xs.size(), s + 500));
      int[] p = Networks.argMax(net.output(Images.batch(Labelled.images(part), SIDE, SIDE)));
      System.arraycopy(p, 0, out, s, p.length);
    }
    return out;
  }

  static boolean[] correct(int[] predicted, List<Labelled> xs) {
    boolean[] ok = new boolean[xs.size()];
    for (int i = 0; i < ok.length; i++) {
      ok[i] = predicted[i] == xs.get(i).label();
    }
    return ok;
  }

  static double accuracy(boolean[] ok) {
    int k = 0;
    for (boolean b : ok) {
      k += b ? 1 : 0;
    }
    return ok.length == 0 ? Double.NaN : k / (double) ok.length;
  }

  /**
   * Fine-tunes the champion as the trainer does: frozen activations from the feature cache (keyed by the champion's backbone and
   * the boundary) and {@link FineTuner#fineTuneFromFeatures}; the whole network on images when nothing is frozen.
   */
  Trained fineTune(MultiLayerNetwork champion, String championKey, FreezePlan plan, List<Labelled> train, int epochs) {
    long start = System.nanoTime();
    String backbone = FeatureCache.backboneKey(championKey + "-s" + seed, 0, null, plan.boundary());
    Network net = Network.of(champion);
    FineTuner.Result r = new Retrainer(cache, epochs, BATCH, seed).retrain(net, backbone, net, SPEC, plan,
        Labelled.ids(train), Labelled.images(train), Labelled.labels(train), (lookup, ms) -> { });
    String note = r.cachedFeatureHits() == null ? "trained on images"
        : r.cachedFeatureHits() + "/" + train.size() + " frozen activations from the cache";
    return new Trained(r.network(), plan.boundary(), r.layerRates(), seconds(start), epochs, note);
  }

  /** The same CNN from a fresh initialisation, trained on {@code train} for {@code epochs} epochs. */
  Trained scratch(int classes, List<Labelled> train, int epochs) {
    long start = System.nanoTime();
    MultiLayerNetwork net = Networks.cnn(SIDE, classes, RATE, seed);
    Random rnd = new Random(seed);
    for (int e = 0; e < epochs; e++) {
      epoch(net, train, classes, rnd);
    }
    return new Trained(net, "none", Map.of("all", RATE), seconds(start), epochs, "from scratch, " + epochs + " epochs");
  }

  /**
   * The oracle: the same CNN from a fresh initialisation on all labelled data, one epoch at a time until its accuracy on
   * {@code validation} has not improved for {@link #ORACLE_PATIENCE} epochs (or {@code maxEpochs}); the best epoch's weights
   * are kept.
   */
  Trained oracle(int classes, List<Labelled> train, List<Labelled> validation, int maxEpochs, java.util.function.Consumer<String> log) {
    long start = System.nanoTime();
    MultiLayerNetwork net = Networks.cnn(SIDE, classes, RATE, seed);
    Random rnd = new Random(seed);
    double best = -1;
    INDArray bestParams = null;
    int bestEpoch = 0;
    int e = 0;
    while (e < maxEpochs) {
      epoch(net, train, classes, rnd);
      e++;
      double acc = accuracy(correct(predict(net, validation), validation));
      log.accept(String.format("    oracle epoch %d: held-out accuracy %.4f", e, acc));
      if (acc > best) {
        best = acc;
        bestParams = net.params().dup();
        bestEpoch = e;
      } else if (e - bestEpoch >= ORACLE_PATIENCE) {
        break;
      }
    }
    net.setParams(bestParams);
    return new Trained(net, "none", Map.of("all", RATE), seconds(start), bestEpoch,
        "from scratch on " + train.size() + " images, " + e + " epochs run, best epoch " + bestEpoch + " kept (held-out "
            + String.format("%.4f", best) + ")");
  }

  private static void epoch(MultiLayerNetwork net, List<Labelled> train, int classes, Random rnd) {
    int n = train.size();
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    int px = SIDE * SIDE;
    for (int from = 0; from < n; from += BATCH) {
      int m = Math.min(n, from + BATCH) - from;
      float[] flat = new float[m * px];
      INDArray y = Nd4j.zeros(m, classes);
      for (int i = 0; i < m; i++) {
        Labelled x = train.get(order[from + i]);
        System.arraycopy(x.px(), 0, flat, i * px, px);
        y.putScalar(i, x.label(), 1f);
      }
      net.fit(new DataSet(Nd4j.create(flat, new long[] {m, 1, SIDE, SIDE}, 'c'), y));
    }
    if (!Double.isFinite(net.score())) {
      throw new IllegalStateException("training from scratch diverged: loss " + net.score());
    }
  }

  private static double seconds(long start) {
    return (System.nanoTime() - start) / 1e9;
  }
}
