package dev.streamtune.trainer;

import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Network;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Grows the output layer of a network to a larger label set, for classes that appear mid-stream. Label order is append-only:
 * output unit {@code i} keeps meaning label {@code i}, the new labels take the units after the old ones.
 *
 * <p>The old classes keep their weights and biases, so for them the grown network computes the same logits (its probabilities
 * over the old classes are the old ones renormalised). A new class starts with small Xavier-scaled weights and a bias a margin
 * below the mean old bias, so it begins unlikely and takes probability only as training teaches it. Every other layer is copied
 * unchanged. Pure; the network passed in is not modified.
 */
public final class HeadGrowth {
  /** How far below the mean old bias a new class's bias starts (in logits: e^-2, about 7x less likely than an average class). */
  static final double NEW_BIAS_MARGIN = 2.0;
  /** New weights are Xavier's scale times this: small, so a new class does not take probability from the old ones at first. */
  static final double NEW_WEIGHT_SCALE = 0.1;

  private HeadGrowth() {}

  /**
   * A copy of {@code net} whose output layer has {@code newLabelCount} outputs: the old outputs' weights and biases copied, new
   * ones initialised small and unlikely, every other layer's parameters identical. The updater state is not carried over (a
   * fine-tune starts its own). With {@code newLabelCount} equal to the current count, a plain copy.
   *
   * @param seed seeds the new weights, so a retrain is reproducible
   * @throws IllegalArgumentException when {@code newLabelCount} is below the current output count (labels are never removed),
   *     or the top layer is not an output layer
   */
  public static MultiLayerNetwork grow(MultiLayerNetwork net, int newLabelCount, long seed) {
    int top = net.getnLayers() - 1;
    if (!(net.getLayer(top).conf().getLayer() instanceof BaseOutputLayer)) {
      throw new IllegalArgumentException("the top layer '" + net.getLayer(top).conf().getLayer().getLayerName()
          + "' is not an output layer");
    }
    INDArray w = net.getLayer(top).getParam("W");
    int current = (int) w.size(1);
    requireGrowth(current, newLabelCount);
    if (newLabelCount == current) {
      return net.clone();
    }
    MultiLayerConfiguration conf = net.getLayerWiseConfigurations().clone();
    ((BaseOutputLayer) conf.getConf(top).getLayer()).setNOut(newLabelCount);
    MultiLayerNetwork grown = new MultiLayerNetwork(conf);
    grown.init();
    for (int i = 0; i < top; i++) {
      for (Map.Entry<String, INDArray> p : net.getLayer(i).paramTable().entrySet()) {
        grown.getLayer(i).setParam(p.getKey(), p.getValue().dup());
      }
    }
    setHead(grown.getLayer(top), w, net.getLayer(top).getParam("b"), newLabelCount, seed);
    return grown;
  }

  /**
   * {@link #grow(MultiLayerNetwork, int, long)} for either network class: a graph's output layer grows the same way, every other
   * vertex keeps its parameters.
   */
  public static Network grow(Network net, int newLabelCount, long seed) {
    if (net.type() == ModelSpec.NetworkType.MULTI_LAYER) {
      return Network.of(grow(net.multiLayer(), newLabelCount, seed));
    }
    ComputationGraph g = net.graph();
    String top = net.outputName();
    Layer head = g.getLayer(top);
    if (!(head.conf().getLayer() instanceof BaseOutputLayer)) {
      throw new IllegalArgumentException("the top layer '" + top + "' is not an output layer");
    }
    INDArray w = head.getParam("W");
    int current = (int) w.size(1);
    requireGrowth(current, newLabelCount);
    if (newLabelCount == current) {
      return net.copy();
    }
    ComputationGraphConfiguration conf = g.getConfiguration().clone();
    ((BaseOutputLayer) ((LayerVertex) conf.getVertices().get(top)).getLayerConf().getLayer()).setNOut(newLabelCount);
    ComputationGraph grown = new ComputationGraph(conf);
    grown.init();
    for (Layer l : g.getLayers()) {
      String name = l.conf().getLayer().getLayerName();
      if (!name.equals(top)) {
        for (Map.Entry<String, INDArray> p : l.paramTable().entrySet()) {
          grown.getLayer(name).setParam(p.getKey(), p.getValue().dup());
        }
      }
    }
    setHead(grown.getLayer(top), w, head.getParam("b"), newLabelCount, seed);
    return Network.of(grown);
  }

  private static void requireGrowth(int current, int newLabelCount) {
    if (newLabelCount < current) {
      throw new IllegalArgumentException("cannot shrink the head from " + current + " to " + newLabelCount
          + " labels: labels are only ever appended");
    }
  }

  /** Old columns and biases copied into the grown output layer, new ones small and unlikely. */
  private static void setHead(Layer grown, INDArray w, INDArray b, int newLabelCount, long seed) {
    int nIn = (int) w.size(0);
    int current = (int) w.size(1);
    // DL4J's dense weights are [nIn, nOut] and the bias [1, nOut]: one column per class
    float[][] oldW = w.toFloatMatrix();
    float[] oldB = b.dup().reshape(current).toFloatVector();
    double meanBias = 0;
    for (float v : oldB) {
      meanBias += v;
    }
    meanBias /= current;
    Random rnd = new Random(seed);
    double std = NEW_WEIGHT_SCALE * Math.sqrt(2.0 / (nIn + newLabelCount));
    float[][] newW = new float[nIn][newLabelCount];
    for (int r = 0; r < nIn; r++) {
      System.arraycopy(oldW[r], 0, newW[r], 0, current);
      for (int c = current; c < newLabelCount; c++) {
        newW[r][c] = (float) (rnd.nextGaussian() * std);
      }
    }
    float[] newB = Arrays.copyOf(oldB, newLabelCount);
    Arrays.fill(newB, current, newLabelCount, (float) (meanBias - NEW_BIAS_MARGIN));
    grown.setParam("W", Nd4j.create(newW).castTo(w.dataType()));
    // the bias keeps whatever shape this DL4J version gives it ([1, nOut] or [nOut])
    long[] biasShape = grown.getParam("b").shape();
    grown.setParam("b", Nd4j.create(newB, biasShape, 'c').castTo(w.dataType()));
  }

  /** The number of outputs of a network's top layer. */
  public static int labelCount(MultiLayerNetwork net) {
    return (int) net.getLayer(net.getnLayers() - 1).getParam("W").size(1);
  }
}
