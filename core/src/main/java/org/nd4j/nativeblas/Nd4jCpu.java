package org.nd4j.nativeblas;

/**
 * Compatibility shim that lets Deeplearning4j 1.0.0-M2.1 reach oneDNN. It is StreamTune's, not ND4J's, and it exists for one
 * reason:
 *
 * <p>DL4J's {@code org.deeplearning4j.nn.layers.mkldnn.BaseMKLDNNHelper.mklDnnEnabled()} decides whether the oneDNN layer
 * helpers (convolution, pooling, batch normalisation, LRN) may be used by looking up, by reflection, the class
 * {@code org.nd4j.nativeblas.Nd4jCpu$Environment} and calling {@code getInstance().isUseMKLDNN()}. In M2.1 that class moved to
 * {@code org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment} and the method was renamed {@code isUseONEDNN()}; the
 * lookup throws {@code ClassNotFoundException}, DL4J records a failed check, and every layer runs on the slow built-in path even
 * with the oneDNN build of {@code nd4j-native} and {@code org.eclipse.deeplearning4j.helpers.disable=false}.
 *
 * <p>This class answers under the old name and delegates to the moved class, so the helpers engage exactly when the native
 * build has oneDNN and it is switched on. On a backend without the moved class (CUDA, another build) it answers {@code false}
 * and DL4J stays on its built-in path. {@code dev.streamtune.core.model.Dl4jRuntime} checks at start-up which path ran and
 * says so. Remove this class when StreamTune moves to a DL4J release whose helper lookup finds the moved class itself.
 */
public final class Nd4jCpu {
  private Nd4jCpu() {}

  /** The old name of the native environment, as {@code BaseMKLDNNHelper} looks it up. */
  public static final class Environment {
    private static final Environment INSTANCE = new Environment();

    private Environment() {}

    /** The one instance, as the native class has. */
    public static Environment getInstance() {
      return INSTANCE;
    }

    /** Whether the native build has oneDNN and it is on: the moved class's {@code isUseONEDNN()}, or false without it. */
    public boolean isUseMKLDNN() {
      try {
        Class<?> moved = Class.forName("org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment");
        Object env = moved.getMethod("getInstance").invoke(null);
        return (Boolean) moved.getMethod("isUseONEDNN").invoke(env);
      } catch (ReflectiveOperationException | LinkageError e) {
        return false;
      }
    }
  }
}
