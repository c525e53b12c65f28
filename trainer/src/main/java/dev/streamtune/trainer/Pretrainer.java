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

  /** Images {@code [0, trainImages)} of the training split are for pretraining; the rest are never seen by the base model. */
  public record Options(int trainImages, int epochs, int batchSize, double learningRate, long seed, Arch arch) {
    public Options {
      if (trainImages < 1 || trainImages > 60_000 || epochs < 1 || batchSize < 1) {
        throw new IllegalArgumentException("pretrain needs 1..60000 images, >= 1 epoch and batch size; was " + trainImages + ", "
            + epochs + ", " + batchSize);
      }
      arch = arch == null ? Arch.CNN : arch;
    }

    /** The grey CNN. */
    public Options(int trainImages, int epochs, int batchSize, double learningRate, long seed) {
      this(trainImages, epochs, batchSize, learningRate, seed, Arch.CNN);
    }

    /**
     * The CNN: 50,000 images, 3 epochs (~2 min on 2 cores with oneDNN; accuracy on unseen clean images ~0.90, against 0.865
     * after the one epoch that fitted the same time without it).
     */
    public static Options defaults() {
      return new Options(50_000, 3, 64, 1e-3, 42, Arch.CNN);
    }

    /** The residual graph: 20,000 rendered images, 2 epochs (~2.5 min on 2 cores with oneDNN). */
    public static Options resnetDefaults() {
      return new Options(20_000, 2, 64, 2e-3, 42, Arch.RESNET);
    }
  }

  private Pretrainer() {}

  /** The base manifest of the model: the stored one, or a new one trained now. {@code progress} gets one line per step. */
  public static Manifest ensureBase(ModelStore store, String model, FashionMnist.Split train, Options o, Consumer<String> progress) {
    var existing = store.base(model);
    if (existing.isPresent()) {
      progress.accept("reusing the pretrained base " + model + " v" + existing.get().version() + " from " + store.uri(model,
          existing.get().version()));
      return existing.get();
    }
    return pretrain(store, model, train, o, progress);
  }

  /** Trains and stores a new base version. */
  public static Manifest pretrain(ModelStore store, String model, FashionMnist.Split train, Options o, Consumer<String> progress) {
    if (o.arch() == Arch.RESNET) {
      return pretrainResnet(store, model, train, o, progress);
    }
    int n = Math.min(o.trainImages(), train.size());
    MultiLayerNetwork net = Networks.cnn(FashionMnist.SIDE, FashionMnist.LABELS.size(), o.learningRate(), o.seed());
    long start = System.nanoTime();
    double loss = epochs(n, o, "cnn", start, progress, (order, from, to) -> {
      net.fit(batch(train, order, from, to));
      return net.score();
    });
    long ms = (System.nanoTime() - start) / 1_000_000;
    Map<String, Double> eval = new TreeMap<>();
    if (train.size() > n) {
      int to = Math.min(train.size(), n + 5000);
      eval.put("accuracy_clean_unseen_train_" + n + "_" + to, accuracy(net, train, n, to));
    }
    Map<String, Integer> byClass = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      byClass.merge(FashionMnist.LABELS.get(train.labels()[i]), 1, Integer::sum);
    }
    TrainingSummary summary = new TrainingSummary("pretrain on the source domain (clean Fashion-MNIST train[0," + n + "))", n,
        byClass, Map.of("clean", n), null, null, o.epochs(), o.batchSize(), FreezePlan.NOTHING, Networks.LAYERS, o.learningRate(), loss,
        Networks.device(), ms);
    Manifest m = store.save(model, net, Networks.spec(FashionMnist.SIDE, FashionMnist.LABELS, Networks.DEFAULT_FREEZE_BOUNDARY),
        null, summary, eval);
    progress.accept(String.format("pretrained %s v%d on %d images x %d epochs in %.0f s (loss %.3f, accuracy on unseen clean %s)",
        model, m.version(), n, o.epochs(), ms / 1000.0, loss, eval.values()));
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
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    java.util.Random rnd = new java.util.Random(o.seed());
    double loss = Double.NaN;
    for (int e = 0; e < o.epochs(); e++) {
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
    }
    return loss;
  }

  private static DataSet batch(FashionMnist.Split split, int[] order, int from, int to) {
    int m = to - from;
    float[] px = new float[m * 784];
    INDArray y = Nd4j.zeros(m, FashionMnist.LABELS.size());
    for (int i = 0; i < m; i++) {
      int k = order[from + i];
      System.arraycopy(split.images()[k], 0, px, i * 784, 784);
      y.putScalar(i, split.labels()[k], 1f);
    }
    return new DataSet(Nd4j.create(px, new long[] {m, 1, FashionMnist.SIDE, FashionMnist.SIDE}, 'c'), y);
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
