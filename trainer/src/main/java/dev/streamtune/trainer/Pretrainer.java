package dev.streamtune.trainer;

import dev.streamtune.core.image.ColourRendering;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.model.BatchNorms;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.ModelStore;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.model.Provenance;
import dev.streamtune.core.model.ResNets;
import dev.streamtune.core.records.TrainingSummary;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Pretrains a backbone on the source domain and stores it as the base version; reuses a stored base when there is one. Two
 * built-in architectures: the grey CNN ({@link Networks#cnn}) on clean Fashion-MNIST, and a small residual graph
 * ({@link ResNets}) on the colour rendering of the same images ({@link ColourRendering}).
 */
public final class Pretrainer {
  /** The built-in backbones. */
  public enum Arch {
    /** The grey 28×28 CNN, a {@code MultiLayerNetwork}: conv1 → pool1 → conv2 → pool2 → fc → head. */
    CNN,
    /** A residual {@code ComputationGraph} for RGB 32×32: stem, three residual blocks (16, 32, 64), pool, fc, head. */
    RESNET;

    public static Arch parse(String name) {
      return switch (name.trim().toLowerCase(java.util.Locale.ROOT)) {
        case "cnn" -> CNN;
        case "resnet" -> RESNET;
        default -> throw new IllegalArgumentException("unknown architecture '" + name + "', one of [cnn, resnet]");
      };
    }

    public String id() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The model name of this backbone's base in the demo and {@code pretrain}: {@code fashion}, {@code fashion-rgb}. */
    public String defaultModel() {
      return this == RESNET ? "fashion-rgb" : "fashion";
    }
  }

  /**
   * Images {@code [0, trainImages)} of the training split are for pretraining; the rest are never trained on (the next 5,000
   * are the validation images of early stopping).
   *
   * @param epochs the most epochs
   * @param patience with a validation split: stop after this many epochs without a better validation accuracy and keep the
   *     best epoch's weights; 0 trains every epoch (CNN only)
   * @param augment flip images left to right at random (a garment or a shoe mirrored is the same class; CNN only)
   * @param decay the learning rate is multiplied by this after each epoch from the third (1: constant; CNN only)
   */
  public record Options(int trainImages, int epochs, int batchSize, double learningRate, long seed, Arch arch, int patience,
      boolean augment, double decay) {
    public Options {
      if (trainImages < 1 || trainImages > 60_000 || epochs < 1 || batchSize < 1 || patience < 0 || !(decay > 0 && decay <= 1)) {
        throw new IllegalArgumentException("pretrain needs 1..60000 images, >= 1 epoch and batch size, patience >= 0 and "
            + "0 < decay <= 1; was " + trainImages + ", " + epochs + ", " + batchSize + ", " + patience + ", " + decay);
      }
      arch = arch == null ? Arch.CNN : arch;
    }

    /** Every epoch, no augmentation, a constant rate. */
    public Options(int trainImages, int epochs, int batchSize, double learningRate, long seed, Arch arch) {
      this(trainImages, epochs, batchSize, learningRate, seed, arch, 0, false, 1.0);
    }

    /** The grey CNN. */
    public Options(int trainImages, int epochs, int batchSize, double learningRate, long seed) {
      this(trainImages, epochs, batchSize, learningRate, seed, Arch.CNN);
    }

    /**
     * The CNN: 50,000 images, up to 8 epochs with mirrored images at random, the rate × 0.7 per epoch from the third, early
     * stopping on train[50000, 55000) with patience 2 (figures in docs/benchmarks.md, "Pretraining").
     */
    public static Options defaults() {
      return new Options(50_000, 8, 64, 1e-3, 42, Arch.CNN, 2, true, 0.7);
    }

    /** These options with at most {@code n} epochs. */
    public Options withEpochs(int n) {
      return new Options(trainImages, n, batchSize, learningRate, seed, arch, patience, augment, decay);
    }

    /** The residual graph: 20,000 rendered images, 2 epochs (~2.5 min on 2 cores with oneDNN). */
    public static Options resnetDefaults() {
      return new Options(20_000, 2, 64, 2e-3, 42, Arch.RESNET);
    }
  }

  private Pretrainer() {}

  /** The base manifest of the model: the stored one, or a new one trained now. {@code progress} gets one line per step. */
  public static Manifest ensureBase(ModelStore store, String model, FashionMnist.Split train, Options o, Consumer<String> progress) {
    return ensureBase(store, model, train, null, o, progress);
  }

  /** As {@link #ensureBase(ModelStore, String, FashionMnist.Split, Options, Consumer)}, measuring a new base on {@code test}. */
  public static Manifest ensureBase(ModelStore store, String model, FashionMnist.Split train, FashionMnist.Split test, Options o,
      Consumer<String> progress) {
    var existing = store.base(model);
    if (existing.isPresent()) {
      progress.accept("reusing the pretrained base " + model + " v" + existing.get().version() + " from " + store.uri(model,
          existing.get().version()));
      return existing.get();
    }
    return pretrain(store, model, train, test, o, progress);
  }

  /** Validation images of early stopping: the first this many training images after those pretrained on. */
  static final int VALIDATION_IMAGES = 5_000;

  /** Trains and stores a new base version. */
  public static Manifest pretrain(ModelStore store, String model, FashionMnist.Split train, Options o, Consumer<String> progress) {
    return pretrain(store, model, train, null, o, progress);
  }

  /**
   * Trains and stores a new base version; its accuracy on {@code test} (the official test split, never used for any choice;
   * null: not measured) is recorded in the manifest beside the validation accuracy.
   */
  public static Manifest pretrain(ModelStore store, String model, FashionMnist.Split train, FashionMnist.Split test, Options o,
      Consumer<String> progress) {
    if (o.arch() == Arch.RESNET) {
      return pretrainResnet(store, model, train, o, progress);
    }
    int n = Math.min(o.trainImages(), train.size());
    int validationTo = Math.min(train.size(), n + VALIDATION_IMAGES);
    boolean earlyStopping = o.patience() > 0 && validationTo > n;
    MultiLayerNetwork net = Networks.cnn(FashionMnist.SIDE, FashionMnist.LABELS.size(), o.learningRate(), o.seed());
    java.util.Random flips = new java.util.Random(o.seed() + 1);
    long start = System.nanoTime();
    // early stopping: the best epoch's weights on the validation images, and when it was
    double[] best = {-1, 0};
    INDArray[] bestParams = {null};
    int[] epochsRun = {0};
    double loss = epochs(n, o, "cnn", start, progress, (order, from, to) -> {
      net.fit(batch(train, order, from, to, o.augment() ? flips : null));
      return net.score();
    }, e -> {
      if (e >= 2 && o.decay() < 1) {
        net.setLearningRate(o.learningRate() * Math.pow(o.decay(), e - 1));
      }
    }, e -> {
      epochsRun[0] = e + 1;
      if (!earlyStopping) {
        return false;
      }
      double acc = accuracy(net, train, n, validationTo);
      progress.accept(String.format("pretraining cnn epoch %d/%d: accuracy %.4f on the %d validation images%s", e + 1,
          o.epochs(), acc, validationTo - n, acc > best[0] ? " (best so far)" : ""));
      if (acc > best[0]) {
        best[0] = acc;
        best[1] = e + 1;
        bestParams[0] = net.params().dup();
        return false;
      }
      return e + 1 - (int) best[1] >= o.patience();
    });
    if (bestParams[0] != null) {
      net.setParams(bestParams[0]);
    }
    long ms = (System.nanoTime() - start) / 1_000_000;
    Map<String, Double> eval = new TreeMap<>();
    if (train.size() > n) {
      eval.put("accuracy_clean_unseen_train_" + n + "_" + validationTo, accuracy(net, train, n, validationTo));
    }
    if (test != null) {
      eval.put("accuracy_clean_test", accuracy(net, test, 0, test.size()));
    }
    String stopped = !earlyStopping ? o.epochs() + " epochs"
        : String.format("best validation accuracy %.4f after epoch %d of %d run (at most %d, patience %d)", best[0],
            (int) best[1], epochsRun[0], o.epochs(), o.patience());
    Map<String, Integer> byClass = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      byClass.merge(FashionMnist.LABELS.get(train.labels()[i]), 1, Integer::sum);
    }
    TrainingSummary summary = new TrainingSummary("pretrain on the source domain (clean Fashion-MNIST train[0," + n + ")"
        + (o.augment() ? ", mirrored at random" : "") + "; " + stopped + ")", n,
        byClass, Map.of("clean", n), null, null, earlyStopping ? (int) best[1] : o.epochs(), o.batchSize(), FreezePlan.NOTHING,
        Networks.LAYERS, o.learningRate(), loss, Networks.device(), ms);
    Manifest m = store.save(model, net, Networks.spec(FashionMnist.SIDE, FashionMnist.LABELS, Networks.DEFAULT_FREEZE_BOUNDARY),
        null, summary, eval);
    progress.accept(String.format("pretrained %s v%d on %d images (%s) in %.0f s (loss %.3f, accuracy on unseen clean images %s)",
        model, m.version(), n, stopped, ms / 1000.0, loss, eval));
    return m;
  }

  /** The residual graph on the colour rendering of {@code train[0, trainImages)}. */
  private static Manifest pretrainResnet(ModelStore store, String model, FashionMnist.Split train, Options o,
      Consumer<String> progress) {
    int n = Math.min(o.trainImages(), train.size());
    ComputationGraph net = ResNets.build(3, ColourRendering.SIDE, new int[] {16, 32, 64}, 64, FashionMnist.LABELS.size(),
        o.learningRate(), o.seed());
    ModelSpec spec = ResNets.spec(net, ColourRendering.SIDE, FashionMnist.LABELS);
    Preprocessor pre = Preprocessor.of(spec);
    List<float[]> images = new java.util.ArrayList<>(n);
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      images.add(ColourRendering.render(train.images()[i], i));
      labels[i] = train.labels()[i];
    }
    long start = System.nanoTime();
    double loss = epochs(n, o, "resnet", start, progress, (order, from, to) -> {
      List<float[]> part = new java.util.ArrayList<>(to - from);
      INDArray y = Nd4j.zeros(to - from, FashionMnist.LABELS.size());
      for (int i = from; i < to; i++) {
        part.add(images.get(order[i]));
        y.putScalar(i - from, labels[order[i]], 1f);
      }
      net.fit(new DataSet(pre.batch(part), y));
      return net.score();
    });
    int calibrated = BatchNorms.recalibrate(net, batches(pre, BatchNorms.spread(images, RECALIBRATION_IMAGES)), name -> true);
    long ms = (System.nanoTime() - start) / 1_000_000;
    progress.accept("batch-norm statistics re-estimated on " + Math.min(n, RECALIBRATION_IMAGES) + " training images ("
        + calibrated + " layers)");
    Map<String, Double> eval = new TreeMap<>();
    if (train.size() > n) {
      int to = Math.min(train.size(), n + 5000);
      List<float[]> unseen = new java.util.ArrayList<>(to - n);
      int[] unseenLabels = new int[to - n];
      for (int i = n; i < to; i++) {
        unseen.add(ColourRendering.render(train.images()[i], i));
        unseenLabels[i - n] = train.labels()[i];
      }
      eval.put("accuracy_colour_unseen_train_" + n + "_" + to, Networks.accuracy(Network.of(net), pre, unseen, unseenLabels));
    }
    Map<String, Integer> byClass = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      byClass.merge(FashionMnist.LABELS.get(labels[i]), 1, Integer::sum);
    }
    TrainingSummary summary = new TrainingSummary("pretrain on the colour source domain (Fashion-MNIST train[0," + n
        + ") rendered in colour)", n, byClass, Map.of("colour", n), null, null, o.epochs(), o.batchSize(), FreezePlan.NOTHING,
        spec.layers(), o.learningRate(), loss, Networks.device(), ms);
    Manifest m = store.save(model, net, spec, null, summary, eval, new Provenance("built-in", "pretrain --arch resnet", null,
        "head (softmax, " + FashionMnist.LABELS.size() + " labels)"));
    progress.accept(String.format("pretrained %s v%d (resnet, %,d parameters) on %d colour images x %d epochs in %.0f s "
        + "(loss %.3f, accuracy on unseen colour images %s)", model, m.version(), net.numParams(), n, o.epochs(), ms / 1000.0,
        loss, eval.values()));
    return m;
  }

  /** Images whose statistics re-estimate batch norm: plenty for per-channel means and variances. */
  static final int RECALIBRATION_IMAGES = 1024;

  /**
   * Images stacked in batches of 64 for a pass in inference mode (on 2 cores a graph's {@code output()} at batch 128 and above
   * ran slower per image than at 64).
   */
  static List<INDArray> batches(Preprocessor pre, List<float[]> images) {
    List<INDArray> out = new java.util.ArrayList<>();
    for (int from = 0; from < images.size(); from += 64) {
      out.add(pre.batch(images.subList(from, Math.min(images.size(), from + 64))));
    }
    return out;
  }

  /** One training step on the images {@code order[from..to)}; its score. */
  private interface Step {
    double fit(int[] order, int from, int to);
  }

  /** Shuffled epochs of {@code o.batchSize()} batches, a progress line every 10 s; the mean loss of the last epoch. */
  private static double epochs(int n, Options o, String what, long start, Consumer<String> progress, Step step) {
    return epochs(n, o, what, start, progress, step, e -> { }, e -> false);
  }

  /**
   * As {@link #epochs(int, Options, String, long, Consumer, Step)}, with {@code beforeEpoch} called with each epoch's index
   * and {@code stopAfter} deciding after each whether to stop.
   */
  private static double epochs(int n, Options o, String what, long start, Consumer<String> progress, Step step,
      java.util.function.IntConsumer beforeEpoch, java.util.function.IntPredicate stopAfter) {
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    java.util.Random rnd = new java.util.Random(o.seed());
    double loss = Double.NaN;
    for (int e = 0; e < o.epochs(); e++) {
      beforeEpoch.accept(e);
      for (int i = n - 1; i > 0; i--) {
        int j = rnd.nextInt(i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
      double sum = 0;
      int batches = 0;
      long lastReport = System.nanoTime();
      for (int from = 0; from < n; from += o.batchSize()) {
        int to = Math.min(n, from + o.batchSize());
        sum += step.fit(order, from, to);
        batches++;
        if (System.nanoTime() - lastReport > 10_000_000_000L) {
          lastReport = System.nanoTime();
          progress.accept(String.format("pretraining %s epoch %d/%d: %d/%d images, loss %.3f, %.0f images/s", what, e + 1,
              o.epochs(), to, n, sum / batches, (e * n + to) / ((System.nanoTime() - start) / 1e9)));
        }
      }
      loss = sum / batches;
      if (stopAfter.test(e)) {
        break;
      }
    }
    return loss;
  }

  private static DataSet batch(FashionMnist.Split split, int[] order, int from, int to) {
    return batch(split, order, from, to, null);
  }

  /** A training batch; with {@code flips}, each image is mirrored left to right with probability 1/2. */
  private static DataSet batch(FashionMnist.Split split, int[] order, int from, int to, java.util.Random flips) {
    int m = to - from;
    int side = FashionMnist.SIDE;
    float[] px = new float[m * 784];
    INDArray y = Nd4j.zeros(m, FashionMnist.LABELS.size());
    for (int i = 0; i < m; i++) {
      int k = order[from + i];
      float[] img = split.images()[k];
      if (flips != null && flips.nextBoolean()) {
        for (int r = 0; r < side; r++) {
          for (int c = 0; c < side; c++) {
            px[i * 784 + r * side + c] = img[r * side + side - 1 - c];
          }
        }
      } else {
        System.arraycopy(img, 0, px, i * 784, 784);
      }
      y.putScalar(i, split.labels()[k], 1f);
    }
    return new DataSet(Networks.floats(px, m, 1, FashionMnist.SIDE, FashionMnist.SIDE), y);
  }

  /** Accuracy on images {@code [from, to)} of a split. */
  public static double accuracy(MultiLayerNetwork net, FashionMnist.Split split, int from, int to) {
    int ok = 0;
    for (int s = from; s < to; s += 500) {
      int e = Math.min(to, s + 500);
      int[] idx = new int[e - s];
      for (int i = 0; i < idx.length; i++) {
        idx[i] = s + i;
      }
      int[] pred = Networks.argMax(net.output(batch(split, idx, 0, idx.length).getFeatures()));
      for (int i = 0; i < pred.length; i++) {
        ok += pred[i] == split.labels()[s + i] ? 1 : 0;
      }
    }
    return ok / (double) (to - from);
  }

  /** Accuracy on a list of images with label indices. */
  public static double accuracy(MultiLayerNetwork net, List<float[]> images, int[] labels) {
    int ok = 0;
    for (int s = 0; s < images.size(); s += 500) {
      List<float[]> part = images.subList(s, Math.min(images.size(), s + 500));
      int[] pred = Networks.argMax(net.output(dev.streamtune.core.image.Images.batch(part, FashionMnist.SIDE, FashionMnist.SIDE)));
      for (int i = 0; i < pred.length; i++) {
        ok += pred[i] == labels[s + i] ? 1 : 0;
      }
    }
    return ok / (double) images.size();
  }
}
