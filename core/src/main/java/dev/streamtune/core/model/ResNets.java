package dev.streamtune.core.model;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * A small residual {@link ComputationGraph} in the shape the method is taught with: a convolutional stem, residual blocks
 * (conv-BN-ReLU-conv-BN, identity or strided 1×1 projection shortcut, add, ReLU) that halve the resolution and double the
 * width after the first, global average pooling, a dense layer and a softmax head. Vertex names are stable: {@code stem},
 * {@code block1} … {@code blockN} (each block's output), {@code pool}, {@code fc}, {@code head}; {@link #BOUNDARIES} are the
 * freeze boundaries a fine-tune may pick among.
 */
public final class ResNets {
  /** The input vertex's name. */
  public static final String INPUT = "input";

  private ResNets() {}

  /** Freeze boundaries, top first: head only above {@code fc}; fc + head above {@code pool}; the last block too above the one below it. */
  public static List<String> boundaries(int blocks) {
    List<String> out = new ArrayList<>(List.of("fc", "pool"));
    if (blocks >= 2) {
      out.add("block" + (blocks - 1));
    }
    return out;
  }

  /**
   * The spec of a residual network built here for RGB images of {@code side x side}: NCHW, pixels scaled to [0,1], images of
   * another size stretched, the embedding at {@code fc}, freeze boundaries {@link #boundaries}, the dense top ({@code pool})
   * as the default boundary.
   */
  public static ModelSpec spec(ComputationGraph net, int side, List<String> labels) {
    List<String> layers = Network.of(net).layerNames();
    int blocks = (int) layers.stream().filter(l -> l.matches("block\\d+")).count();
    return new ModelSpec(List.of(net.getLayer("stem_conv").conf().getLayer() instanceof ConvolutionLayer c ? (int) c.getNIn() : 3,
        side, side), null, labels, layers, "pool", ModelSpec.NetworkType.GRAPH, ModelSpec.Layout.NCHW, Normalization.UNIT,
        ModelSpec.Resize.STRETCH, "fc", boundaries(blocks));
  }

  /**
   * Builds and initialises the graph.
   *
   * @param channels 1 or 3
   * @param side input height and width
   * @param widths channels of each residual block, e.g. {@code [16, 32, 64]}; the stem has the first width
   * @param labels output classes
   */
  public static ComputationGraph build(int channels, int side, int[] widths, int fcWidth, int labels, double learningRate,
      long seed) {
    if (widths.length < 1 || channels < 1 || side < 4 || labels < 1) {
      throw new IllegalArgumentException("resnet needs >= 1 block, channels, side >= 4 and labels; was " + widths.length + ", "
          + channels + ", " + side + ", " + labels);
    }
    ComputationGraphConfiguration.GraphBuilder g = new NeuralNetConfiguration.Builder()
        .seed(seed)
        .updater(new Adam(learningRate))
        .weightInit(WeightInit.RELU)
        .convolutionMode(ConvolutionMode.Same)
        .graphBuilder()
        .addInputs(INPUT)
        .setInputTypes(InputType.convolutional(side, side, channels));
    g.addLayer("stem_conv", new ConvolutionLayer.Builder(3, 3).nOut(widths[0]).activation(Activation.IDENTITY).hasBias(false)
        .build(), INPUT);
    g.addLayer("stem_bn", new BatchNormalization.Builder().eps(1e-3).build(), "stem_conv");
    g.addLayer("stem", new ActivationLayer.Builder().activation(Activation.RELU).build(), "stem_bn");
    String in = "stem";
    int inWidth = widths[0];
    for (int b = 0; b < widths.length; b++) {
      String p = "block" + (b + 1);
      int w = widths[b];
      int stride = b == 0 ? 1 : 2;
      g.addLayer(p + "_conv1", new ConvolutionLayer.Builder(3, 3).stride(stride, stride).nOut(w).hasBias(false)
          .activation(Activation.IDENTITY).build(), in);
      g.addLayer(p + "_bn1", new BatchNormalization.Builder().eps(1e-3).build(), p + "_conv1");
      g.addLayer(p + "_relu1", new ActivationLayer.Builder().activation(Activation.RELU).build(), p + "_bn1");
      g.addLayer(p + "_conv2", new ConvolutionLayer.Builder(3, 3).nOut(w).hasBias(false).activation(Activation.IDENTITY).build(),
          p + "_relu1");
      g.addLayer(p + "_bn2", new BatchNormalization.Builder().eps(1e-3).build(), p + "_conv2");
      String shortcut = in;
      if (stride != 1 || w != inWidth) {
        g.addLayer(p + "_proj", new ConvolutionLayer.Builder(1, 1).stride(stride, stride).nOut(w).hasBias(false)
            .activation(Activation.IDENTITY).build(), in);
        g.addLayer(p + "_proj_bn", new BatchNormalization.Builder().eps(1e-3).build(), p + "_proj");
        shortcut = p + "_proj_bn";
      }
      g.addVertex(p + "_add", new ElementWiseVertex(ElementWiseVertex.Op.Add), p + "_bn2", shortcut);
      g.addLayer(p, new ActivationLayer.Builder().activation(Activation.RELU).build(), p + "_add");
      in = p;
      inWidth = w;
    }
    g.addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), in);
    g.addLayer("fc", new DenseLayer.Builder().nOut(fcWidth).activation(Activation.RELU).weightInit(WeightInit.XAVIER).build(),
        "pool");
    g.addLayer("head", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(labels).activation(Activation.SOFTMAX)
        .weightInit(WeightInit.XAVIER).build(), "fc");
    g.setOutputs("head");
    ComputationGraph net = new ComputationGraph(g.build());
    net.init();
    return net;
  }
}
