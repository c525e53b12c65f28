package dev.streamtune.trainer;

import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.Networks;
import dev.streamtune.trainer.internal.DenseTopTrainer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;
import org.nd4j.linalg.learning.config.Adam;

/**
 * Transfer-learning fine-tune: the layers up to and including the freeze boundary keep the champion's weights; the layers above
 * are trained on the given samples, each with its own Adam updater at the rate the {@link FreezePlan} gives it. The result is a
 * plain (unfrozen) network of the champion's architecture, so the next fine-tune can choose its own boundary. No I/O; the
 * champion passed in is not modified (neither its weights nor its updater configuration).
 *
 * <p>Two ways to train the same thing: {@link #fineTune} runs the whole network on images (the frozen part is recomputed every
 * batch), {@link #fineTuneFromFeatures} trains a small network made of the layers above the boundary on the frozen part's
 * activations (from {@link dev.streamtune.trainer.internal.FeatureCache}) and copies its weights back into a full network. A dense top (fc and head) trains
 * there through {@link DenseTopTrainer}: DL4J's arithmetic and updater without the work whose result is unused.
 *
 * <p>A loss or weight that is NaN or infinite stops either way with {@link TrainingDivergedException}.
 */
public final class FineTuner {
  /**
   * What a fine-tune produced.
   *
   * @param model the fine-tuned network, of the champion's class and architecture
   * @param layerRates the learning rate of each trained layer with parameters, bottom to top
   * @param cachedFeatureHits samples whose frozen activations came from the cache, null when trained on images
   * @param interpolation how far {@link Interpolation} moved the model back toward its parent; null when it was off
   */
  public record Result(Network model, String freezeBoundary, List<String> layersTrained, Map<String, Double> layerRates,
      double loss, int epochs, long durationMs, Integer cachedFeatureHits, String interpolation) {
    /** A result without interpolation toward the parent. */
    public Result(Network model, String freezeBoundary, List<String> layersTrained, Map<String, Double> layerRates, double loss,
        int epochs, long durationMs, Integer cachedFeatureHits) {
      this(model, freezeBoundary, layersTrained, layerRates, loss, epochs, durationMs, cachedFeatureHits, null);
    }

    /** The same result with the cache figure set. */
    public Result withCachedFeatureHits(int hits) {
      return new Result(model, freezeBoundary, layersTrained, layerRates, loss, epochs, durationMs, hits, interpolation);
    }

    /** The same result with {@link Interpolation}'s choice: its model, and what it chose ({@link Interpolation.Choice#describe}). */
    public Result interpolated(Interpolation.Choice choice) {
      return new Result(choice.model(), freezeBoundary, layersTrained, layerRates, loss, epochs, durationMs, cachedFeatureHits,
          choice.describe());
    }

    /** The fine-tuned network when the champion was a {@link MultiLayerNetwork}. */
    public MultiLayerNetwork network() {
      return model.multiLayer();
    }
  }

  private FineTuner() {}

  /** {@link #fineTune(MultiLayerNetwork, FreezePlan, int, int, List, int[], int, long)} with one rate for every trained layer. */
  public static Result fineTune(MultiLayerNetwork champion, String freezeBoundary, double learningRate, int epochs, int batchSize,
      List<float[]> images, int[] labels, int side, long seed) {
    return fineTune(champion, FreezePlan.uniform(freezeBoundary, learningRate, "uniform rate"), epochs, batchSize, images, labels,
        side, seed);
  }

  /**
   * Fine-tunes the layers above the plan's boundary on images, running the whole network (the frozen part is recomputed for
   * every batch).
   *
   * @param images pixels in [0,1], {@code side*side} each
   * @param labels label indices, one per image
   * @throws TrainingDivergedException when the loss or the weights become NaN or infinite
   */
  public static Result fineTune(MultiLayerNetwork champion, FreezePlan plan, int epochs, int batchSize, List<float[]> images,
      int[] labels, int side, long seed) {
    return fineTune(champion, plan, epochs, batchSize, images, Targets.oneHot(labels, classes(champion)), side, seed);
  }

  /** {@link #fineTune(MultiLayerNetwork, FreezePlan, int, int, List, int[], int, long)} fitting {@code targets}' rows. */
  public static Result fineTune(MultiLayerNetwork champion, FreezePlan plan, int epochs, int batchSize, List<float[]> images,
      Targets targets, int side, long seed) {
    if (images.size() != targets.size() || images.isEmpty() || targets.classes() != classes(champion)) {
      throw new IllegalArgumentException("need one target row of " + classes(champion) + " classes per image and at least one: "
          + images.size() + " images, " + targets.size() + " rows of " + targets.classes());
    }
    long start = System.nanoTime();
    int boundary = boundaryIndex(champion, plan.boundary());
    Map<String, Double> rates = layerRates(champion, plan);
    MultiLayerNetwork tuned = trainable(champion, plan);
    double loss = train(epochs, batchSize, targets.size(), seed, (order, from, to) -> {
      tuned.fit(imageBatch(images, targets, order, from, to, side));
      return tuned.score();
    });
    requireFiniteParams(tuned);
    MultiLayerNetwork plain = plainCopy(champion);
    plain.setParams(tuned.params().dup());
    return new Result(Network.of(plain), plan.boundary(), trainedNames(champion, boundary), rates, loss, epochs, elapsedMs(start),
        null);
  }

  /**
   * A copy of the champion with the layers up to the plan's boundary frozen and each layer above it on its own Adam updater at
   * its rate from {@link #layerRates}; the champion keeps its own updater configuration.
   */
  static MultiLayerNetwork trainable(MultiLayerNetwork champion, FreezePlan plan) {
    int boundary = boundaryIndex(champion, plan.boundary());
    // no FineTuneConfiguration: its updater would be one object shared by every layer (DL4J-NOTES pitfall 1)
    TransferLearning.Builder builder = new TransferLearning.Builder(champion.clone());
    if (boundary >= 0) {
      builder.setFeatureExtractor(boundary);
    }
    MultiLayerNetwork tuned = builder.build();
    applyRates(tuned, boundary + 1, layerRates(champion, plan));
    return tuned;
  }

  /**
   * Fine-tunes the layers above the plan's boundary on the frozen part's activations: a small network of those layers (the
   * champion's weights, each layer with its own updater) is trained, and its weights are copied into a copy of the champion.
   *
   * @param features {@link #frozenActivations} of the training images for this boundary, {@code [N, F]}
   * @param labels label indices, one per row
   * @param side the height and width of the champion's input images
   * @throws TrainingDivergedException when the loss or the weights become NaN or infinite
   */
  public static Result fineTuneFromFeatures(MultiLayerNetwork champion, FreezePlan plan, int epochs, int batchSize,
      INDArray features, int[] labels, int side, long seed) {
    return fineTuneFromFeatures(champion, plan, epochs, batchSize, features, labels, side, seed, true);
  }

  /**
   * {@link #fineTuneFromFeatures(MultiLayerNetwork, FreezePlan, int, int, INDArray, int[], int, long)}, choosing whether a dense
   * top may train through {@link DenseTopTrainer} (same arithmetic, less work) or always through DL4J's {@code fit} (the
   * reference the tests compare it with).
   */
  static Result fineTuneFromFeatures(MultiLayerNetwork champion, FreezePlan plan, int epochs, int batchSize,
      INDArray features, int[] labels, int side, long seed, boolean allowDenseTop) {
    return fineTuneFromFeatures(champion, plan, epochs, batchSize, features, Targets.oneHot(labels, classes(champion)), side,
        seed, allowDenseTop);
  }

  /** {@link #fineTuneFromFeatures(MultiLayerNetwork, FreezePlan, int, int, INDArray, int[], int, long)} fitting {@code targets}. */
  public static Result fineTuneFromFeatures(MultiLayerNetwork champion, FreezePlan plan, int epochs, int batchSize,
      INDArray features, Targets targets, int side, long seed) {
    return fineTuneFromFeatures(champion, plan, epochs, batchSize, features, targets, side, seed, true);
  }

  static Result fineTuneFromFeatures(MultiLayerNetwork champion, FreezePlan plan, int epochs, int batchSize,
      INDArray features, Targets targets, int side, long seed, boolean allowDenseTop) {
    if (features.rank() != 2 || features.size(0) != targets.size() || targets.size() == 0
        || targets.classes() != classes(champion)) {
      throw new IllegalArgumentException("need a [N, F] feature matrix with one target row of " + classes(champion)
          + " classes per row and N >= 1: features " + Arrays.toString(features.shape()) + ", " + targets.size() + " rows of "
          + targets.classes());
    }
    long start = System.nanoTime();
    int boundary = boundaryIndex(champion, plan.boundary());
    if (boundary < 0) {
      throw new IllegalArgumentException("training from cached features needs a freeze boundary, was " + plan.boundary());
    }
    Map<String, Double> rates = layerRates(champion, plan);
    MultiLayerNetwork head = headNetwork(champion, plan.boundary(), rates, side, seed);
    double loss;
    if (allowDenseTop && DenseTopTrainer.supports(head)) {
      // one off-heap copy of the features and the target rows; each batch is a native gather of its rows
      INDArray x = features.castTo(DataType.FLOAT).dup('c');
      INDArray y = targets.all();
      DenseTopTrainer trainer = new DenseTopTrainer(head);
      loss = train(epochs, batchSize, targets.size(), seed, (order, from, to) -> {
        int[] rows = Arrays.copyOfRange(order, from, to);
        return trainer.step(Nd4j.pullRows(x, 1, rows), Nd4j.pullRows(y, 1, rows));
      });
    } else {
      // batches are gathered on the Java side: one copy of the rows, then System.arraycopy per batch
      float[] x = features.castTo(DataType.FLOAT).dup('c').data().asFloat();
      int width = (int) features.size(1);
      loss = train(epochs, batchSize, targets.size(), seed, (order, from, to) -> {
        int m = to - from;
        float[] rows = new float[m * width];
        for (int i = 0; i < m; i++) {
          System.arraycopy(x, order[from + i] * width, rows, i * width, width);
        }
        INDArray y = targets.rows(Arrays.copyOfRange(order, from, to));
        head.fit(new DataSet(Networks.floats(rows, m, width), y));
        return head.score();
      });
    }
    requireFiniteParams(head);
    MultiLayerNetwork full = plainCopy(champion);
    full.setParams(champion.params().dup());
    for (int i = boundary + 1; i < champion.getnLayers(); i++) {
      Layer from = head.getLayer(i - boundary - 1);
      for (Map.Entry<String, INDArray> p : from.paramTable().entrySet()) {
        full.getLayer(i).setParam(p.getKey(), p.getValue().dup());
      }
    }
    return new Result(Network.of(full), plan.boundary(), trainedNames(champion, boundary), rates, loss, epochs, elapsedMs(start),
        0);
  }

  /**
   * The output of the frozen part (layers {@code 0..boundary}) for a batch of images {@code [N, 1, h, w]}, flattened to
   * {@code [N, F]} in 'c' order; the input {@link #fineTuneFromFeatures} and {@link #headNetwork} take.
   */
  public static INDArray frozenActivations(MultiLayerNetwork net, String boundary, INDArray images) {
    int b = boundaryIndex(net, boundary);
    if (b < 0) {
      throw new IllegalArgumentException("no frozen part for boundary " + boundary);
    }
    // feedForwardToLayer, not activateSelectedLayers: the latter reads the network's last input for the minibatch size and
    // throws on a network that never ran one (a model fresh from the store or from HeadGrowth)
    List<INDArray> acts = net.feedForwardToLayer(b, images, false);
    INDArray a = acts.get(acts.size() - 1);
    return a.dup('c').reshape('c', a.size(0), a.length() / a.size(0)).castTo(DataType.FLOAT);
  }

  /**
   * A network of the champion's layers above {@code boundary}, with the champion's weights, that takes
   * {@link #frozenActivations} as input and answers what the champion answers on the images. Each layer with parameters gets
   * its own Adam at {@code rates.get(name)} (the champion's updater otherwise).
   *
   * @param side the height and width of the champion's input images
   */
  public static MultiLayerNetwork headNetwork(MultiLayerNetwork champion, String boundary, Map<String, Double> rates, int side,
      long seed) {
    int b = boundaryIndex(champion, boundary);
    if (b < 0 || b >= champion.getnLayers() - 1) {
      throw new IllegalArgumentException("a head network needs a boundary below the top layer, was " + boundary);
    }
    long[] shape = activationShape(champion, b, side);
    NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder().seed(seed).list();
    for (int i = b + 1; i < champion.getnLayers(); i++) {
      org.deeplearning4j.nn.conf.layers.Layer l = champion.getLayer(i).conf().getLayer().clone();
      if (l instanceof BaseLayer bl && rates.containsKey(l.getLayerName())) {
        setRate(bl, rates.get(l.getLayerName()));
      }
      list.layer(l);
    }
    // the features arrive flat; a conv layer on top of the boundary reshapes them back ('c' order, channels first)
    InputType flatIn = shape.length == 3 ? InputType.convolutionalFlat(shape[1], shape[2], shape[0])
        : InputType.feedForward(shape[0]);
    MultiLayerNetwork head = new MultiLayerNetwork(list.setInputType(flatIn).build());
    head.init();
    for (int i = b + 1; i < champion.getnLayers(); i++) {
      for (Map.Entry<String, INDArray> p : champion.getLayer(i).paramTable().entrySet()) {
        head.getLayer(i - b - 1).setParam(p.getKey(), p.getValue().dup());
      }
    }
    return head;
  }

  /**
   * The learning rate of each layer with parameters above the plan's boundary, bottom to top: the dense top (layers above the
   * highest conv layer) at the head's rate; each conv layer at the rate of the block above it times the plan's factor.
   */
  public static Map<String, Double> layerRates(MultiLayerNetwork net, FreezePlan plan) {
    int boundary = boundaryIndex(net, plan.boundary());
    List<String> names = new ArrayList<>();
    List<Double> values = new ArrayList<>();
    double rate = plan.headRate();
    for (int i = net.getnLayers() - 1; i > boundary; i--) {
      org.deeplearning4j.nn.conf.layers.Layer l = net.getLayer(i).conf().getLayer();
      if (l instanceof ConvolutionLayer) {
        rate *= plan.lowerRateFactor();
      }
      if (l instanceof BaseLayer) {
        names.add(0, l.getLayerName());
        values.add(0, rate);
      }
    }
    Map<String, Double> out = new LinkedHashMap<>();
    for (int i = 0; i < names.size(); i++) {
      out.put(names.get(i), values.get(i));
    }
    return out;
  }

  /** The shape of one example's activation at layer {@code b}, found by running one blank image through the frozen part. */
  private static long[] activationShape(MultiLayerNetwork net, int b, int side) {
    long channels = net.getLayer(0).conf().getLayer() instanceof ConvolutionLayer c ? c.getNIn() : 1;
    INDArray a = net.activateSelectedLayers(0, b, Nd4j.zeros(DataType.FLOAT, 1, channels, side, side));
    return Arrays.copyOfRange(a.shape(), 1, a.rank());
  }

  /** One training step on the samples {@code order[from..to)}; returns its score (the batch's mean loss). */
  interface Step {
    double step(int[] order, int from, int to);
  }

  /** Epochs of shuffled batches; stops at the first loss that is not finite. The mean loss of the last epoch. */
  static double train(int epochs, int batchSize, int n, long seed, Step steps) {
    Random rnd = new Random(seed);
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    double lastEpochLoss = Double.NaN;
    for (int e = 0; e < epochs; e++) {
      shuffle(order, rnd);
      double sum = 0;
      int count = 0;
      for (int from = 0; from < n; from += batchSize) {
        int to = Math.min(n, from + batchSize);
        double score = steps.step(order, from, to);
        // a NaN never recovers: stop at the first one rather than train the remaining epochs on garbage
        if (!Double.isFinite(score)) {
          throw new TrainingDivergedException("fine-tune diverged: loss " + score + " in epoch " + (e + 1) + " at sample "
              + from + " of " + n);
        }
        sum += score;
        count++;
      }
      lastEpochLoss = sum / count;
      if (!Double.isFinite(lastEpochLoss)) {
        throw new TrainingDivergedException("fine-tune diverged: mean loss " + lastEpochLoss + " in epoch " + (e + 1));
      }
    }
    return lastEpochLoss;
  }

  /**
   * Throws {@link TrainingDivergedException} when a parameter of the network is NaN or infinite (a loss can stay finite while
   * the weights overflow, e.g. behind a saturated softmax).
   */
  static void requireFiniteParams(MultiLayerNetwork net) {
    INDArray p = net.params();
    if (BooleanIndexing.or(p, Conditions.isNan()) || BooleanIndexing.or(p, Conditions.isInfinite())) {
      throw new TrainingDivergedException("fine-tune diverged: the trained weights hold NaN or infinite values");
    }
  }

  /** Gives each trainable layer from {@code first} up its own updater at its rate, and drops the network's updater state. */
  private static void applyRates(MultiLayerNetwork net, int first, Map<String, Double> rates) {
    for (int i = Math.max(0, first); i < net.getnLayers(); i++) {
      org.deeplearning4j.nn.conf.layers.Layer l = net.getLayer(i).conf().getLayer();
      if (l instanceof BaseLayer bl && rates.containsKey(l.getLayerName())) {
        setRate(bl, rates.get(l.getLayerName()));
      }
    }
    // the updater groups layers by their updater configuration when it is created: make it again from the new ones
    net.setUpdater(null);
  }

  private static void setRate(BaseLayer layer, double rate) {
    layer.setIUpdater(new Adam(rate));
    if (layer.getBiasUpdater() != null) {
      layer.setBiasUpdater(new Adam(rate));
    }
  }

  /**
   * Whether a convolution or pooling layer is trained above {@code boundary}. Then the layers above the boundary cost far more
   * than the frozen part below it, so extracting the frozen activations once ({@link #fineTuneFromFeatures}) saves little of
   * each epoch and costs more than it saves on a first retrain: {@code bench training --boundary pool1} (3,000 samples, 3 epochs,
   * 2 cores) trained in 5.6 s recomputing the frozen conv1 every batch against 8.1 s extracting first (2.0 s of it the
   * extraction) and 5.2 s from a warm cache. A dense top above the boundary is the other way round (7x, DL4J-NOTES).
   */
  public static boolean trainsConvolutions(MultiLayerNetwork net, String boundary) {
    for (int i = boundaryIndex(net, boundary) + 1; i < net.getnLayers(); i++) {
      org.deeplearning4j.nn.conf.layers.Layer l = net.getLayerWiseConfigurations().getConf(i).getLayer();
      if (l instanceof ConvolutionLayer || l instanceof org.deeplearning4j.nn.conf.layers.SubsamplingLayer) {
        return true;
      }
    }
    return false;
  }

  private static int boundaryIndex(MultiLayerNetwork net, String boundary) {
    return FreezePlan.freezesNothing(boundary) ? -1 : Networks.layerIndex(net, boundary);
  }

  private static List<String> trainedNames(MultiLayerNetwork net, int boundary) {
    List<String> trained = new ArrayList<>();
    for (int i = boundary + 1; i < net.getnLayers(); i++) {
      trained.add(net.getLayer(i).conf().getLayer().getLayerName());
    }
    return trained;
  }

  static int classes(MultiLayerNetwork net) {
    return (int) net.getLayer(net.getnLayers() - 1).getParam("W").size(1);
  }

  /** A plain network of the champion's architecture (no FrozenLayer wrappers), with fresh parameters to be set. */
  private static MultiLayerNetwork plainCopy(MultiLayerNetwork champion) {
    MultiLayerNetwork plain = new MultiLayerNetwork(champion.getLayerWiseConfigurations().clone());
    plain.init();
    return plain;
  }

  private static long elapsedMs(long start) {
    return (System.nanoTime() - start) / 1_000_000;
  }

  private static DataSet imageBatch(List<float[]> images, Targets targets, int[] order, int from, int to, int side) {
    int m = to - from;
    int px = side * side;
    float[] flat = new float[m * px];
    for (int i = 0; i < m; i++) {
      System.arraycopy(images.get(order[from + i]), 0, flat, i * px, px);
    }
    return new DataSet(Networks.floats(flat, m, 1, side, side), targets.rows(Arrays.copyOfRange(order, from, to)));
  }

  private static void shuffle(int[] a, Random rnd) {
    for (int i = a.length - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}
