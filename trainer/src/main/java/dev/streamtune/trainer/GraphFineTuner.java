package dev.streamtune.trainer;

import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.model.BatchNorms;
import dev.streamtune.core.model.Network;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.transferlearning.TransferLearningHelper;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;
import org.nd4j.linalg.learning.config.Adam;

/**
 * {@link FineTuner}'s recipe for a {@link ComputationGraph} (a residual network, a Keras functional import, a zoo model): the
 * boundary vertex and everything it depends on keep the champion's weights ({@code TransferLearning.GraphBuilder
 * .setFeatureExtractor}); every layer above trains with its own Adam — dense and output layers at the head's rate, convolution
 * and batch normalisation layers at {@code lowerRateFactor} of it. Trains either on images (the frozen part recomputed every batch) or on
 * the boundary's cached activations ({@code TransferLearningHelper} trains the part above the boundary on them). The result is a
 * plain graph of the champion's architecture; the champion is not modified. No I/O.
 */
public final class GraphFineTuner {
  private GraphFineTuner() {}

  /** Fine-tunes on images decoded for the champion's spec ({@link Preprocessor#decode}); {@link FreezePlan#NOTHING} trains everything. */
  public static FineTuner.Result fineTune(ComputationGraph champion, FreezePlan plan, int epochs, int batchSize,
      List<float[]> images, int[] labels, Preprocessor input, long seed) {
    return fineTune(champion, plan, epochs, batchSize, images, Targets.oneHot(labels, classes(champion)), input, seed);
  }

  /** {@link #fineTune(ComputationGraph, FreezePlan, int, int, List, int[], Preprocessor, long)} fitting {@code targets}. */
  public static FineTuner.Result fineTune(ComputationGraph champion, FreezePlan plan, int epochs, int batchSize,
      List<float[]> images, Targets targets, Preprocessor input, long seed) {
    if (images.size() != targets.size() || images.isEmpty() || targets.classes() != classes(champion)) {
      throw new IllegalArgumentException("need one target row of " + classes(champion) + " classes per image and at least one: "
          + images.size() + " images, " + targets.size() + " rows of " + targets.classes());
    }
    long start = System.nanoTime();
    Map<String, Double> rates = layerRates(champion, plan);
    ComputationGraph tuned = trainable(champion, plan, rates);
    double loss = FineTuner.train(epochs, batchSize, targets.size(), seed, (order, from, to) -> {
      List<float[]> part = new ArrayList<>(to - from);
      for (int i = from; i < to; i++) {
        part.add(images.get(order[i]));
      }
      tuned.fit(new DataSet(input.batch(part), targets.rows(Arrays.copyOfRange(order, from, to))));
      return tuned.score();
    });
    ComputationGraph plain = plainCopy(champion);
    plain.setParams(tuned.params().dup());
    requireFinite(plain);
    return new FineTuner.Result(Network.of(plain), plan.boundary(), List.copyOf(rates.keySet()), rates, loss, epochs,
        elapsedMs(start), null);
  }

  /**
   * Fine-tunes the part above the boundary on the boundary's activations, flat {@code [N, F]} rows as {@link dev.streamtune.trainer.internal.FeatureCache}
   * keeps them; {@code shape} is one example's activation shape at the boundary (without the batch axis).
   */
  public static FineTuner.Result fineTuneFromFeatures(ComputationGraph champion, FreezePlan plan, int epochs, int batchSize,
      INDArray features, long[] shape, int[] labels, long seed) {
    return fineTuneFromFeatures(champion, plan, epochs, batchSize, features, shape, Targets.oneHot(labels, classes(champion)),
        seed);
  }

  /** {@link #fineTuneFromFeatures(ComputationGraph, FreezePlan, int, int, INDArray, long[], int[], long)} fitting {@code targets}. */
  public static FineTuner.Result fineTuneFromFeatures(ComputationGraph champion, FreezePlan plan, int epochs, int batchSize,
      INDArray features, long[] shape, Targets targets, long seed) {
    if (plan.freezesNothing()) {
      throw new IllegalArgumentException("training from cached features needs a freeze boundary, was none");
    }
    if (features.rank() != 2 || features.size(0) != targets.size() || targets.size() == 0
        || targets.classes() != classes(champion)) {
      throw new IllegalArgumentException("need a [N, F] feature matrix with one target row of " + classes(champion)
          + " classes per row: features " + Arrays.toString(features.shape()) + ", " + targets.size() + " rows of "
          + targets.classes());
    }
    long start = System.nanoTime();
    Map<String, Double> rates = layerRates(champion, plan);
    ComputationGraph tuned = trainable(champion, plan, rates);
    TransferLearningHelper helper = new TransferLearningHelper(tuned, plan.boundary());
    INDArray x = features.castTo(DataType.FLOAT).dup('c');
    long[] batchShape = new long[shape.length + 1];
    System.arraycopy(shape, 0, batchShape, 1, shape.length);
    double loss = FineTuner.train(epochs, batchSize, targets.size(), seed, (order, from, to) -> {
      int[] rows = Arrays.copyOfRange(order, from, to);
      batchShape[0] = rows.length;
      helper.fitFeaturized(new DataSet(Nd4j.pullRows(x, 1, rows).reshape('c', batchShape), targets.rows(rows)));
      return helper.unfrozenGraph().score();
    });
    ComputationGraph plain = plainCopy(champion);
    plain.setParams(tuned.params().dup());
    requireFinite(plain);
    return new FineTuner.Result(Network.of(plain), plan.boundary(), List.copyOf(rates.keySet()), rates, loss, epochs,
        elapsedMs(start), 0);
  }

  /**
   * Re-estimates the running statistics of the batch-norm layers the fine-tune trained (those above the boundary) from the
   * training images ({@link BatchNorms}); the frozen part keeps the champion's, so its cached activations stay valid. DL4J's
   * moving averages lag what training learned; without this a graph answers worse in inference than it trained. At most
   * {@code limit} images are used, spread over the whole list ({@link BatchNorms#spread}: new-domain and replayed images
   * alike). Mutates the result's graph.
   *
   * @return how many layers were re-estimated
   */
  public static int recalibrate(FineTuner.Result r, List<float[]> images, Preprocessor input, int limit) {
    return recalibrate(r.model().graph(), r.freezeBoundary(), images, input, limit);
  }

  /** {@link #recalibrate(FineTuner.Result, List, Preprocessor, int)} for a graph trained above {@code boundary}. */
  public static int recalibrate(ComputationGraph g, String boundary, List<float[]> images, Preprocessor input, int limit) {
    Set<String> frozen = frozen(g, boundary);
    return BatchNorms.recalibrate(g, Pretrainer.batches(input, BatchNorms.spread(images, limit)),
        name -> !frozen.contains(name));
  }

  /** The activations at a boundary for a batch, flat {@code [N, F]} ('c' order), and one example's shape there. */
  public static INDArray frozenActivations(ComputationGraph net, String boundary, INDArray batch) {
    return Network.of(net).features(boundary, batch);
  }

  /** One example's activation shape at a boundary, from a forward pass of blank input of {@code inputShape} (with batch 1). */
  public static long[] activationShape(ComputationGraph net, String boundary, long[] inputShape) {
    INDArray a = Network.of(net).activations(boundary, Nd4j.zeros(DataType.FLOAT, inputShape));
    return Arrays.copyOfRange(a.shape(), 1, a.rank());
  }

  /**
   * The rate of each layer with parameters above the boundary, in the graph's topological order: dense layers at the head's
   * rate, others (convolution, batch norm) at {@code lowerRateFactor} of it.
   */
  public static Map<String, Double> layerRates(ComputationGraph net, FreezePlan plan) {
    Set<String> frozen = frozen(net, plan.boundary());
    Map<String, Double> out = new LinkedHashMap<>();
    GraphVertex[] vs = net.getVertices();
    for (int i : net.topologicalSortOrder()) {
      GraphVertex v = vs[i];
      if (v.isInputVertex() || !v.hasLayer() || frozen.contains(v.getVertexName()) || v.getLayer().numParams() == 0) {
        continue;
      }
      org.deeplearning4j.nn.conf.layers.Layer conf = v.getLayer().conf().getLayer();
      boolean dense = conf instanceof DenseLayer || conf instanceof BaseOutputLayer;
      out.put(v.getVertexName(), dense ? plan.headRate() : plan.headRate() * plan.lowerRateFactor());
    }
    return out;
  }

  /** The boundary vertex and all it depends on; empty for {@code none}. */
  static Set<String> frozen(ComputationGraph net, String boundary) {
    Set<String> out = new HashSet<>();
    if (FreezePlan.freezesNothing(boundary)) {
      return out;
    }
    vertex(net, boundary);
    Map<String, List<String>> inputs = net.getConfiguration().getVertexInputs();
    Deque<String> todo = new ArrayDeque<>(List.of(boundary));
    while (!todo.isEmpty()) {
      String v = todo.pop();
      if (out.add(v)) {
        todo.addAll(inputs.getOrDefault(v, List.of()));
      }
    }
    return out;
  }

  /** A copy with the frozen part fixed and each trained layer on its own Adam at its rate. */
  static ComputationGraph trainable(ComputationGraph champion, FreezePlan plan, Map<String, Double> rates) {
    TransferLearning.GraphBuilder b = new TransferLearning.GraphBuilder(champion.clone())
        // only the seed: a FineTuneConfiguration updater would be one object shared by every layer (DL4J-NOTES pitfall 1)
        .fineTuneConfiguration(new FineTuneConfiguration.Builder().build());
    if (!plan.freezesNothing()) {
      b.setFeatureExtractor(plan.boundary());
    }
    ComputationGraph tuned = b.build();
    for (Map.Entry<String, Double> r : rates.entrySet()) {
      Layer l = tuned.getLayer(r.getKey());
      if (l.conf().getLayer() instanceof BaseLayer bl) {
        bl.setIUpdater(new Adam(r.getValue()));
        if (bl.getBiasUpdater() != null) {
          bl.setBiasUpdater(new Adam(r.getValue()));
        }
      }
    }
    // the updater groups layers by their configuration when it is created: make it again from the new ones
    tuned.setUpdater(null);
    return tuned;
  }

  private static GraphVertex vertex(ComputationGraph net, String name) {
    GraphVertex v = net.getVertex(name);
    if (v == null) {
      List<String> names = new ArrayList<>();
      for (GraphVertex g : net.getVertices()) {
        names.add(g.getVertexName());
      }
      throw new IllegalArgumentException("no layer named '" + name + "', layers are " + names);
    }
    return v;
  }

  static int classes(ComputationGraph net) {
    return (int) net.getLayer(net.getConfiguration().getNetworkOutputs().get(0)).getParam("W").size(1);
  }

  private static ComputationGraph plainCopy(ComputationGraph champion) {
    ComputationGraph plain = new ComputationGraph(champion.getConfiguration().clone());
    plain.init();
    return plain;
  }

  private static void requireFinite(ComputationGraph net) {
    INDArray p = net.params();
    if (BooleanIndexing.or(p, Conditions.isNan()) || BooleanIndexing.or(p, Conditions.isInfinite())) {
      throw new TrainingDivergedException("fine-tune diverged: the trained weights hold NaN or infinite values");
    }
  }

  private static long elapsedMs(long start) {
    return (System.nanoTime() - start) / 1_000_000;
  }
}
