package dev.streamtune.trainer.internal;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Trains a dense top (ReLU dense layers, then a softmax output layer with multi-class cross-entropy, each on Adam) on cached
 * features with the same arithmetic as DL4J's {@code fit}: the same forward pass, the gradient divided by the minibatch size,
 * DL4J's own Adam updater per parameter and iteration count, the same score. What it leaves out is work whose result is never
 * used: the gradient with respect to the cached features (a full {@code [batch, F] x [F, units]} product per batch that DL4J
 * computes for the layer below, which here is the cache), and DL4J's per-call bookkeeping. Batches are gathered by a native row
 * copy from one feature matrix.
 *
 * <p>Only networks it can train exactly are accepted ({@link #supports}); anything else (dropout, regularization, another loss,
 * updater or activation, layer norm, input preprocessors) goes through DL4J's {@code fit}. Not thread-safe; one per fine-tune.
 */
public final class DenseTopTrainer {
  private final MultiLayerNetwork net;
  private final int layers;
  private final INDArray[] w;
  private final INDArray[] b;
  private final INDArray[] dW;
  private final INDArray[] dWFlat;
  private final INDArray[] dB;
  private final GradientUpdater<?>[] wUpdaters;
  private final GradientUpdater<?>[] bUpdaters;
  private final double clipEps;
  private int iteration;

  /**
   * Whether {@code net} is a chain this trainer computes exactly as DL4J does: dense ReLU layers then one softmax/MCXENT output
   * layer, every layer with a bias, Adam for weights and biases, no dropout, weight noise, regularization, gradient
   * normalization, layer norm or input preprocessor, minibatch gradients.
   */
  public static boolean supports(MultiLayerNetwork net) {
    MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
    if (!conf.getInputPreProcessors().isEmpty() || net.getnLayers() < 1 || !conf.getConf(0).isMiniBatch()) {
      return false;
    }
    for (int i = 0; i < net.getnLayers(); i++) {
      org.deeplearning4j.nn.conf.layers.Layer l = conf.getConf(i).getLayer();
      boolean last = i == net.getnLayers() - 1;
      if (!(l instanceof BaseLayer bl) || bl.getIDropout() != null || bl.getWeightNoise() != null
          || !(bl.getIUpdater() instanceof Adam) || !(bl.getBiasUpdater() == null || bl.getBiasUpdater() instanceof Adam)
          || !empty(bl.getRegularization()) || !empty(bl.getRegularizationBias())
          || !(bl.getGradientNormalization() == null || bl.getGradientNormalization() == GradientNormalization.None)) {
        return false;
      }
      if (last) {
        if (!(l instanceof OutputLayer o) || !o.hasBias() || !(o.getActivationFn() instanceof ActivationSoftmax)
            || !(o.getLossFn() instanceof LossMCXENT loss) || loss.getWeights() != null) {
          return false;
        }
      } else if (!(l instanceof DenseLayer d) || !d.hasBias() || d.hasLayerNorm() || !(d.getActivationFn() instanceof ActivationReLU r)
          || !isPlainRelu(r)) {
        return false;
      }
      if (net.getLayer(i).getParam("W").dataType() != DataType.FLOAT) {
        return false;
      }
    }
    return true;
  }

  private static boolean isPlainRelu(ActivationReLU r) {
    // the default ReLU only: max(0, x), derivative 1 above 0 and 0 elsewhere
    return r.equals(new ActivationReLU());
  }

  private static boolean empty(List<?> l) {
    return l == null || l.isEmpty();
  }

  /** Trains {@code net}'s own parameters in place; its iteration count goes on from where it is. */
  public DenseTopTrainer(MultiLayerNetwork net) {
    this.net = net;
    this.layers = net.getnLayers();
    w = new INDArray[layers];
    b = new INDArray[layers];
    dW = new INDArray[layers];
    dWFlat = new INDArray[layers];
    dB = new INDArray[layers];
    wUpdaters = new GradientUpdater<?>[layers];
    bUpdaters = new GradientUpdater<?>[layers];
    for (int i = 0; i < layers; i++) {
      BaseLayer conf = (BaseLayer) net.getLayer(i).conf().getLayer();
      // views into the network's parameters: updating them updates the network
      w[i] = net.getLayer(i).getParam("W");
      b[i] = net.getLayer(i).getParam("b");
      // DL4J's updater reshapes the gradient it is given to its state's [1, n]: hand it row vectors, and write the weight
      // gradient through an 'f'-ordered view of one (the layout of DL4J's own gradient views)
      dWFlat[i] = Nd4j.createUninitialized(DataType.FLOAT, 1, w[i].length());
      dW[i] = dWFlat[i].reshape('f', w[i].size(0), w[i].size(1));
      dB[i] = Nd4j.createUninitialized(DataType.FLOAT, 1, b[i].length());
      wUpdaters[i] = updater((Adam) conf.getIUpdater(), w[i].length());
      bUpdaters[i] = updater((Adam) (conf.getBiasUpdater() != null ? conf.getBiasUpdater() : conf.getIUpdater()), b[i].length());
    }
    LossMCXENT loss = (LossMCXENT) ((OutputLayer) net.getLayer(layers - 1).conf().getLayer()).getLossFn();
    clipEps = loss.getSoftmaxClipEps();
    iteration = net.getIterationCount();
  }

  private static GradientUpdater<?> updater(Adam adam, long n) {
    // DL4J's own Adam on a zeroed state view, as a fresh network's updater starts
    return adam.instantiate(Nd4j.zeros(DataType.FLOAT, 1, adam.stateSize(n)), true);
  }

  /**
   * One minibatch step: forward, loss, backward, Adam; returns the score DL4J would report (mean cross-entropy over the batch,
   * computed before the update).
   *
   * @param x features {@code [m, F]}
   * @param y one-hot labels {@code [m, classes]}
   */
  public double step(INDArray x, INDArray y) {
    long m = x.size(0);
    List<INDArray> inputs = new ArrayList<>(layers);
    List<INDArray> pre = new ArrayList<>(layers);
    INDArray a = x;
    for (int i = 0; i < layers; i++) {
      inputs.add(a);
      INDArray z = a.mmul(w[i]).addiRowVector(b[i]);
      pre.add(z);
      a = i < layers - 1 ? Transforms.relu(z, true) : z;
    }
    INDArray p = a.dup();
    Nd4j.exec(new SoftMax(p, p));
    // score: LossMCXENT's, with the output clipped into [eps, 1 - eps] before the log
    INDArray clipped = Transforms.min(Transforms.max(p, clipEps, true), 1.0 - clipEps, false);
    double score = -Transforms.log(clipped, false).muli(y).sumNumber().doubleValue() / m;
    INDArray delta = p.subi(y);
    for (int i = layers - 1; i >= 0; i--) {
      Nd4j.gemm(inputs.get(i), delta, dW[i], true, false, 1.0, 0.0);
      dB[i].assign(delta.sum(0).reshape(1, dB[i].length()));
      if (i > 0) {
        // the gradient for the layer below; none for layer 0, whose input is the cached features
        INDArray eps = delta.mmul(w[i].transpose());
        delta = eps.muli(pre.get(i - 1).gt(0).castTo(DataType.FLOAT));
      }
    }
    for (int i = 0; i < layers; i++) {
      // DL4J's order: divide by the minibatch size, then the updater turns the gradient into the update, then subtract
      dWFlat[i].divi(m);
      dB[i].divi(m);
      wUpdaters[i].applyUpdater(dWFlat[i], iteration, 0);
      bUpdaters[i].applyUpdater(dB[i], iteration, 0);
      w[i].subi(dW[i]);
      b[i].subi(dB[i].reshape(b[i].shape()));
    }
    iteration++;
    net.setIterationCount(iteration);
    return score;
  }
}
