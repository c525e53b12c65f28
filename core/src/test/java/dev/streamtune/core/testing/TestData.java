package dev.streamtune.core.testing;

import dev.streamtune.core.image.FashionMnist;
import java.nio.file.Files;
import java.nio.file.Path;

/** Real Fashion-MNIST for tests, read once per JVM from the Debian package (or {@code -Dstreamtune.data=DIR}). */
public final class TestData {
  private static FashionMnist.Split test;
  private static FashionMnist.Split train;

  private TestData() {}

  public static Path dataDir() {
    return Path.of(System.getProperty("streamtune.data", FashionMnist.DEFAULT_DIR.toString()));
  }

  public static synchronized FashionMnist.Split test() {
    if (test == null) {
      test = FashionMnist.test(dataDir());
    }
    return test;
  }

  public static synchronized FashionMnist.Split train() {
    if (train == null) {
      train = FashionMnist.train(dataDir());
    }
    return train;
  }

  /** A fresh directory under the module's target directory. */
  public static Path tempDir(String name) {
    try {
      Path base = Path.of(System.getProperty("streamtune.test.tmp", System.getProperty("java.io.tmpdir")));
      Files.createDirectories(base);
      return Files.createTempDirectory(base, name + "-");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
