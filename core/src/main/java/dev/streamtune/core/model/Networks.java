package dev.streamtune.core.model;

import dev.streamtune.core.image.Images;
import dev.streamtune.core.records.LabelProbability;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** The CNN StreamTune pretrains, with stable layer names, and helpers on networks. */
public final class Networks {
  /** Layer names, bottom to top. A freeze boundary names one of them. */
  public static final List<String> LAYERS = List.of("conv1", "pool1", "conv2", "pool2", "fc", "head");
  /** The default freeze boundary: conv layers frozen, fc and head trained. */
  public static final String DEFAULT_FREEZE_BOUNDARY = "pool2";
  /** The freeze boundaries a fine-tune of the CNN picks among, top first: head only, fc + head, conv2 too. */
  public static final List<String> BOUNDARIES = List.of("fc", "pool2", "pool1");

  private Networks() {}

  /**
   * conv1(32, 3x3) → pool1 → conv2(64, 3x3) → pool2 → fc(128) → head(labels), Adam, for grey {@code side x side} images. The
   * convolutions pad their input (same size out), so pool2 keeps 64×7×7 = 3,136 features of a 28×28 image: pretrained with
   * mirrored images and a decaying rate it reaches 0.91 on the clean test split, where the unpadded net (64×5×5) stayed at
   * 0.898 (docs/benchmarks.md, "Pretraining").
   */
  public static MultiLayerNetwork cnn(int side, int labels, double learningRate, long seed) {
    MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
        .seed(seed)
        .updater(new Adam(learningRate))
        .weightInit(WeightInit.XAVIER)
        .convolutionMode(org.deeplearning4j.nn.conf.ConvolutionMode.Same)
        .list()
        .layer(new ConvolutionLayer.Builder(3, 3).name("conv1").nIn(1).nOut(32).activation(Activation.RELU).build())
        .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).name("pool1").kernelSize(2, 2).stride(2, 2).build())
        .layer(new ConvolutionLayer.Builder(3, 3).name("conv2").nOut(64).activation(Activation.RELU).build())
        .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).name("pool2").kernelSize(2, 2).stride(2, 2).build())
        .layer(new DenseLayer.Builder().name("fc").nOut(128).activation(Activation.RELU).build())
        .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("head").nOut(labels)
            .activation(Activation.SOFTMAX).build())
        .setInputType(InputType.convolutional(side, side, 1))
        .build();
    MultiLayerNetwork net = new MultiLayerNetwork(conf);
    net.init();
    return net;
  }

  /** The spec of the CNN for a label set. */
  public static ModelSpec spec(int side, List<String> labels, String freezeBoundary) {
    return new ModelSpec(List.of(1, side, side), Images.PREPROCESSING, labels, LAYERS, freezeBoundary);
  }

  /** The index of a named layer; throws naming the known layers when absent. */
  public static int layerIndex(MultiLayerNetwork net, String name) {
    for (int i = 0; i < net.getnLayers(); i++) {
      if (name.equals(net.getLayer(i).conf().getLayer().getLayerName())) {
        return i;
      }
    }
    List<String> names = new ArrayList<>();
    for (int i = 0; i < net.getnLayers(); i++) {
      names.add(net.getLayer(i).conf().getLayer().getLayerName());
    }
    throw new IllegalArgumentException("no layer named '" + name + "', layers are " + names);
  }

  /**
   * A C-order float array of {@code shape} holding {@code flat}, copied in bulk: {@code Nd4j.create(float[], shape, 'c')}
   * copies element by element, about ten times slower (measured: 393 against 38 µs for a batch of 128 28x28 images).
   *
   * @throws IllegalArgumentException when the shape does not hold exactly {@code flat.length} values
   */
  public static INDArray floats(float[] flat, long... shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    if (n != flat.length) {
      throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n + " values, given " + flat.length);
    }
    if (flat.length == 0) {
      return Nd4j.create(flat, shape, 'c');
    }
    INDArray a = Nd4j.createUninitialized(org.nd4j.linalg.api.buffer.DataType.FLOAT, shape, 'c');
    a.data().asNioFloat().put(flat);
    return a;
  }

  /**
   * The top-k labels of each row of a probability matrix: {@code min(k, classes)} of them, so a huge {@code k} from a request
   * costs nothing more than all the labels.
   */
  public static List<List<LabelProbability>> topK(INDArray probabilities, List<String> labels, int k) {
    int n = (int) probabilities.size(0);
    int classes = (int) probabilities.size(1);
    k = Math.min(k, classes);
    float[] flat = probabilities.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).data().asFloat();
    List<List<LabelProbability>> out = new ArrayList<>(n);
    for (int r = 0; r < n; r++) {
      Integer[] idx = new Integer[classes];
      for (int c = 0; c < classes; c++) {
        idx[c] = c;
      }
      final int row = r;
      Arrays.sort(idx, (a, b) -> Float.compare(flat[row * classes + b], flat[row * classes + a]));
      List<LabelProbability> top = new ArrayList<>(k);
      for (int j = 0; j < k; j++) {
        top.add(new LabelProbability(labels.get(idx[j]), Math.min(1.0, Math.max(0.0, flat[r * classes + idx[j]]))));
      }
      out.add(top);
    }
    return out;
  }

  /** The share of images (decoded for {@code pre}'s spec) that the network answers with their label index; batched by 500. */
  public static double accuracy(Network net, dev.streamtune.core.image.Preprocessor pre, List<float[]> images, int[] labels) {
    if (images.size() != labels.length) {
      throw new IllegalArgumentException(images.size() + " images but " + labels.length + " labels");
    }
    if (images.isEmpty()) {
      return Double.NaN;
    }
    int ok = 0;
    for (int s = 0; s < images.size(); s += 500) {
      int[] pred = argMax(net.output(pre.batch(images.subList(s, Math.min(images.size(), s + 500)))));
      for (int i = 0; i < pred.length; i++) {
        ok += pred[i] == labels[s + i] ? 1 : 0;
      }
    }
    return ok / (double) images.size();
  }

  /** The predicted class index of each row. */
  public static int[] argMax(INDArray probabilities) {
    INDArray am = Nd4j.argMax(probabilities, 1);
    int[] out = new int[(int) am.length()];
    for (int i = 0; i < out.length; i++) {
      out[i] = am.getInt(i);
    }
    return out;
  }

  /**
   * The ND4J backend and device this process computes on, with the native build and whether DL4J's layer helpers engaged, for
   * manifests, benchmark reports and logs, e.g. {@code cpu (CpuBackend, 2 cores, onednn build, helpers on)}.
   */
  public static String device() {
    String backend = Nd4j.getBackend().getClass().getSimpleName();
    Dl4jRuntime.Status s = Dl4jRuntime.init();
    String path = s.build() + " build, helpers " + (s.helpersEngaged() ? "on" : "off");
    return backend.contains("Cuda") ? "gpu (" + backend + ", " + path + ")" : "cpu (" + backend + ", "
        + Runtime.getRuntime().availableProcessors() + " cores, " + path + ")";
  }
}
