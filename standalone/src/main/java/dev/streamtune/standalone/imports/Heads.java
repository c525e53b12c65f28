package dev.streamtune.standalone.imports;

import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Network;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * The top of an imported network: a trainable output head for the user's labels. A top that is already an output layer (or a
 * loss layer) with as many outputs as labels is kept; a dense top with as many outputs (Keras imports its softmax {@code Dense}
 * so, with no loss to train against) becomes an output layer with the same weights, answering softmax probabilities; any other
 * top needs {@code --replace-head}: a fresh softmax output layer {@code head} over the embedding layer.
 */
final class Heads {
  /** What became of the top. */
  record Result(Network network, String embedding, String description) {}

  private Heads() {}

  /** The tensor layout of the network's convolutions: NHWC when its first convolution says so (Keras imports), else NCHW. */
  static ModelSpec.Layout layout(Network net) {
    for (String name : net.layerNames()) {
      Layer l = net.layer(name);
      if (l != null && l.conf().getLayer() instanceof ConvolutionLayer c) {
        return c.getCnn2dDataFormat() == CNN2DFormat.NHWC ? ModelSpec.Layout.NHWC : ModelSpec.Layout.NCHW;
      }
    }
    return ModelSpec.Layout.NCHW;
  }

  static Result fit(Network net, int labels, boolean replace, String embeddingLayer, long seed) {
    String top = net.outputName();
    List<String> inputs = inputsOf(net, top);
    String embedding = embeddingLayer != null ? net.requireLayer(embeddingLayer, "embedding layer")
        : inputs.size() == 1 ? inputs.get(0) : null;
    if (embedding == null) {
      throw new IllegalArgumentException("the top '" + top + "' has " + inputs.size() + " inputs " + inputs
          + ": name the embedding layer with --embedding LAYER");
    }
    org.deeplearning4j.nn.conf.layers.Layer conf = confOf(net, top);
    long outputs = conf instanceof FeedForwardLayer f ? f.getNOut() : -1;
    if (replace) {
      return replace(net, top, embedding, labels, seed);
    }
    if (conf instanceof BaseOutputLayer || conf instanceof LossLayer) {
      long n = conf instanceof LossLayer ? outputsOf(net, embedding) : outputs;
      if (n != labels) {
        throw new IllegalArgumentException("the network's top '" + top + "' has " + n + " outputs but the label file has " + labels
            + " labels; pass --replace-head to train a new head over '" + embedding + "'");
      }
      return new Result(net, embedding, "top '" + top + "' (" + conf.getClass().getSimpleName() + ", " + n + " outputs) kept");
    }
    if (conf instanceof FeedForwardLayer ff && !(conf instanceof ConvolutionLayer)) {
      if (outputs != labels) {
        throw new IllegalArgumentException("the network's top '" + top + "' has " + outputs + " outputs but the label file has "
            + labels + " labels; pass --replace-head to train a new head over '" + embedding + "'");
      }
      IActivation act = ff.getActivationFn();
      boolean softmax = act instanceof ActivationSoftmax;
      return new Result(convert(net, top, ff, seed), embedding, "top '" + top + "' (" + conf.getClass().getSimpleName() + ", "
          + outputs + " outputs, " + act + ") became a softmax output layer with its weights"
          + (softmax ? "" : " (the source answered " + act + ", StreamTune answers probabilities)"));
    }
    throw new IllegalArgumentException("the network's top '" + top + "' is a " + (conf == null ? "vertex" : conf.getClass()
        .getSimpleName()) + " without weights for the labels; pass --replace-head to train a new head over '" + embedding + "'");
  }

  /** A dense top → an output layer (MCXENT, softmax) of the same name with the same weights. */
  private static Network convert(Network net, String top, FeedForwardLayer dense, long seed) {
    Layer old = net.layer(top);
    INDArray w = old.getParam("W").dup();
    INDArray b = old.paramTable().containsKey("b") ? old.getParam("b").dup() : null;
    OutputLayer head = new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name(top).nIn(dense.getNIn())
        .nOut(dense.getNOut()).activation(Activation.SOFTMAX).hasBias(b != null).build();
    Network out;
    if (net.type() == ModelSpec.NetworkType.GRAPH) {
      ComputationGraph g = net.graph();
      List<String> in = g.getConfiguration().getVertexInputs().get(top);
      out = Network.of(new TransferLearning.GraphBuilder(g).fineTuneConfiguration(tuning(seed)).removeVertexAndConnections(top)
          .addLayer(top, head, in.toArray(String[]::new)).setOutputs(top).build());
    } else {
      MultiLayerNetwork m = net.multiLayer();
      out = Network.of(new TransferLearning.Builder(m).fineTuneConfiguration(tuning(seed)).removeLayersFromOutput(1)
          .addLayer(head).build());
    }
    out.layer(top).setParam("W", w);
    if (b != null) {
      out.layer(top).setParam("b", b);
    }
    return out;
  }

  /** Everything above the embedding removed; a fresh softmax output layer {@code head} on it. */
  private static Result replace(Network net, String top, String embedding, int labels, long seed) {
    long width = outputsOf(net, embedding);
    String name = net.layerNames().contains("head") && !"head".equals(top) ? "head_" + labels : "head";
    OutputLayer head = new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name(name).nIn(width).nOut(labels)
        .activation(Activation.SOFTMAX).weightInit(WeightInit.XAVIER).build();
    List<String> names = net.layerNames();
    int removed;
    Network out;
    if (net.type() == ModelSpec.NetworkType.GRAPH) {
      ComputationGraph g = net.graph();
      Set<String> keep = ancestors(g.getConfiguration().getVertexInputs(), embedding);
      TransferLearning.GraphBuilder b = new TransferLearning.GraphBuilder(g).fineTuneConfiguration(tuning(seed));
      removed = 0;
      for (int i = names.size() - 1; i >= 0; i--) {
        if (!keep.contains(names.get(i))) {
          b.removeVertexAndConnections(names.get(i));
          removed++;
        }
      }
      out = Network.of(b.addLayer(name, head, embedding).setOutputs(name).build());
    } else {
      int e = names.indexOf(embedding);
      removed = names.size() - 1 - e;
      out = Network.of(new TransferLearning.Builder(net.multiLayer()).fineTuneConfiguration(tuning(seed))
          .removeLayersFromOutput(removed).addLayer(head).build());
    }
    return new Result(out, embedding, "top '" + top + "' and " + (removed - 1) + " layer(s) below it replaced by a new head '"
        + name + "' (" + width + " -> " + labels + ") over '" + embedding + "'");
  }

  /** The width of a layer's output, from its configuration (feed-forward layers) — a head needs flat features. */
  private static long outputsOf(Network net, String layer) {
    org.deeplearning4j.nn.conf.layers.Layer conf = confOf(net, layer);
    if (conf instanceof FeedForwardLayer f && !(conf instanceof ConvolutionLayer) && f.getNOut() > 0) {
      return f.getNOut();
    }
    if (conf instanceof org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer) {
      // global pooling keeps the channels of what it pools: the nearest layer below with an nOut
      for (String in : inputsOf(net, layer)) {
        long n = outputsOf(net, in);
        if (n > 0) {
          return n;
        }
      }
    }
    if (conf instanceof ConvolutionLayer c && conf.getClass() == ConvolutionLayer.class) {
      return c.getNOut();
    }
    List<String> in = inputsOf(net, layer);
    if (conf == null || !(conf instanceof FeedForwardLayer)) {
      // activation, dropout, batch norm and element-wise vertices keep the width of their first input
      for (String i : in) {
        long n = outputsOf(net, i);
        if (n > 0) {
          return n;
        }
      }
    }
    throw new IllegalArgumentException("cannot tell the width of layer '" + layer + "'; pick a dense or global-pooling layer "
        + "as the embedding (--embedding)");
  }

  private static org.deeplearning4j.nn.conf.layers.Layer confOf(Network net, String name) {
    Layer l = net.layer(name);
    return l == null ? null : l.conf().getLayer();
  }

  /** The names feeding a layer: its graph inputs, or the layer below in a {@link MultiLayerNetwork}. */
  static List<String> inputsOf(Network net, String name) {
    if (net.type() == ModelSpec.NetworkType.GRAPH) {
      List<String> in = net.graph().getConfiguration().getVertexInputs().get(name);
      return in == null ? List.of() : in;
    }
    List<String> names = net.layerNames();
    int i = names.indexOf(name);
    return i <= 0 ? List.of() : List.of(names.get(i - 1));
  }

  private static Set<String> ancestors(Map<String, List<String>> inputs, String of) {
    Set<String> out = new HashSet<>();
    Deque<String> todo = new ArrayDeque<>(List.of(of));
    while (!todo.isEmpty()) {
      String v = todo.pop();
      if (out.add(v)) {
        todo.addAll(inputs.getOrDefault(v, List.of()));
      }
    }
    return out;
  }

  /** Adam for every layer (the fine-tune gives each trained layer its own updater and rate later). */
  private static FineTuneConfiguration tuning(long seed) {
    return new FineTuneConfiguration.Builder().updater(new Adam(1e-3)).seed(seed).build();
  }
}
