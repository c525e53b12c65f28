package dev.streamtune.core.model;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.layers.LayerHelper;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.nativeblas.NativeOpsHolder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How Deeplearning4j computes in this process: the ND4J backend, whether its native build has oneDNN, and whether DL4J's layer
 * helpers (convolution, pooling, batch norm through libnd4j's native ops, which dispatch to oneDNN in the oneDNN build) engage.
 * The one place that switches the helpers on.
 *
 * <p>DL4J creates no layer helper unless the system property {@value #HELPERS_PROPERTY} is {@code false}, and it reads that
 * property each time a layer is created. {@link #init()} sets it to {@code false} unless the user set it (so
 * {@code -Dorg.eclipse.deeplearning4j.helpers.disable=true} still turns them off), then builds a one-layer probe network and
 * looks at the helper its convolution layer got. It logs the outcome once per process: one INFO line when the helpers engage,
 * one WARN line naming the reason when they do not (another CPU, another backend, the plain build) — StreamTune then runs on
 * DL4J's built-in path, slower but with the same results. The oneDNN helpers need {@code org.nd4j.nativeblas.Nd4jCpu} (a
 * compatibility class in core, documented there).
 *
 * <p>Thread-safe; call {@link #init()} before building or loading networks (the CLI and every service do).
 */
public final class Dl4jRuntime {
  /** DL4J's switch for its layer helpers: {@code true} (its default) creates none. */
  public static final String HELPERS_PROPERTY = "org.eclipse.deeplearning4j.helpers.disable";

  private static final Logger LOG = LoggerFactory.getLogger(Dl4jRuntime.class);
  private static volatile Status status;

  /**
   * What a process computes on.
   *
   * @param backend ND4J's backend ({@code CPU} or {@code CUDA})
   * @param build the native build: {@code onednn} when it carries oneDNN, else {@code plain}
   * @param helpersRequested whether {@value #HELPERS_PROPERTY} allows helpers
   * @param helper the helper a convolution layer gets ({@code MKLDNNConvHelper}), or {@code none}
   * @param reason why no helper engaged, or empty
   */
  public record Status(String backend, String build, boolean helpersRequested, String helper, String reason) {
    /** Whether convolution layers run on a helper (DL4J's oneDNN helper on CPU, which calls libnd4j's native ops). */
    public boolean helpersEngaged() {
      return !"none".equals(helper);
    }

    /** Whether the helpers engaged on a native build with oneDNN: the fast path. */
    public boolean onOneDnn() {
      return helpersEngaged() && "onednn".equals(build);
    }

    /** One short phrase for logs, benchmark reports and manifests, e.g. {@code cpu, onednn build, helpers on (MKLDNNConvHelper)}. */
    public String describe() {
      return backend.toLowerCase(java.util.Locale.ROOT) + ", " + build + " build, "
          + (helpersEngaged() ? "helpers on (" + helper + ")" : "helpers off (" + reason + ")");
    }
  }

  private Dl4jRuntime() {}

  /** Switches the helpers on unless the user said otherwise, probes once, logs the outcome once, and returns it. */
  public static Status init() {
    Status s = status;
    if (s != null) {
      return s;
    }
    synchronized (Dl4jRuntime.class) {
      if (status == null) {
        enableHelpers();
        status = probe();
        if (status.onOneDnn()) {
          LOG.info("Deeplearning4j: {}", status.describe());
        } else if (status.helpersEngaged()) {
          LOG.warn("Deeplearning4j: {}: the native build has no oneDNN, so the layer helpers run libnd4j's own kernels "
              + "(slower; the nd4j-native classifier linux-x86_64-onednn has oneDNN)", status.describe());
        } else {
          LOG.warn("Deeplearning4j runs without layer helpers ({}): {}; results are the same, convolutions slower",
              status.reason(), status.describe());
        }
      }
      return status;
    }
  }

  /**
   * Sets {@value #HELPERS_PROPERTY} to {@code false} unless the user set it; cheap (loads no native code), so a launcher calls
   * it first thing. Takes effect for every layer created after it.
   */
  public static void enableHelpers() {
    synchronized (Dl4jRuntime.class) {
      if (System.getProperty(HELPERS_PROPERTY) == null) {
        System.setProperty(HELPERS_PROPERTY, "false");
      }
    }
  }

  private static Status probe() {
    String backend = String.valueOf(Nd4j.getExecutioner().getEnvironmentInformation().getProperty("backend", "unknown"));
    String build;
    try {
      String info = NativeOpsHolder.getInstance().getDeviceNativeOps().buildInfo();
      build = info != null && info.contains("HAVE_ONEDNN") ? "onednn" : "plain";
    } catch (RuntimeException | LinkageError e) {
      build = "unknown";
    }
    boolean requested = !Boolean.parseBoolean(System.getProperty(HELPERS_PROPERTY, "true"));
    String helper = convolutionHelper();
    String reason = "";
    if (helper.equals("none")) {
      if (!requested) {
        reason = HELPERS_PROPERTY + "=" + System.getProperty(HELPERS_PROPERTY, "true");
      } else if (!"CPU".equalsIgnoreCase(backend)) {
        reason = "no oneDNN on the " + backend + " backend";
      } else if (!"onednn".equals(build)) {
        reason = "the native build has no oneDNN (nd4j-native classifier linux-x86_64-onednn has it)";
      } else {
        reason = "DL4J did not create the oneDNN helper";
      }
    }
    return new Status(backend, build, requested, helper, reason);
  }

  /** The simple class name of the helper that a fresh convolution layer gets here, or {@code none}. */
  static String convolutionHelper() {
    MultiLayerNetwork probe = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list()
        .layer(new ConvolutionLayer.Builder(3, 3).nOut(2).activation(Activation.IDENTITY).build())
        .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(1).activation(Activation.IDENTITY).build())
        .setInputType(InputType.convolutional(4, 4, 1))
        .build());
    probe.init();
    LayerHelper h = probe.getLayer(0).getHelper();
    return h == null ? "none" : h.getClass().getSimpleName();
  }
}
