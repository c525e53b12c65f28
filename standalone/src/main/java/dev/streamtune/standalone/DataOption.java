package dev.streamtune.standalone;

import dev.streamtune.core.image.FashionMnist;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * {@code --data DIR}: where the Fashion-MNIST IDX files are, by default where the Debian package installs them. Every command
 * that reads them mixes it in ({@code @Mixin DataOption data}).
 */
public final class DataOption {
  @Option(names = "--data", paramLabel = "DIR", defaultValue = "/usr/share/datasets/fashion-mnist",
      description = "Fashion-MNIST IDX files (default ${DEFAULT-VALUE}, from the Debian package dataset-fashion-mnist)")
  public Path dir = FashionMnist.DEFAULT_DIR;
}
