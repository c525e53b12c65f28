package dev.streamtune.core.image;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Fashion-MNIST read from its original IDX files (gzipped or not), by default where the Debian package
 * {@code dataset-fashion-mnist} installs them. Nothing is downloaded.
 */
public final class FashionMnist {
  public static final Path DEFAULT_DIR = Path.of("/usr/share/datasets/fashion-mnist");
  public static final int SIDE = 28;
  public static final List<String> LABELS = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
      "Sneaker", "Bag", "Ankle boot");

  /** One split: images as [0,1] pixels and label indices. */
  public record Split(float[][] images, int[] labels) {
    public int size() {
      return labels.length;
    }
  }

  private FashionMnist() {}

  /** The training split (60,000 images). */
  public static Split train(Path dir) {
    return read(dir, "train");
  }

  /** The test split (10,000 images). */
  public static Split test(Path dir) {
    return read(dir, "t10k");
  }

  private static Split read(Path dir, String prefix) {
    Path images = find(dir, prefix + "-images-idx3-ubyte");
    Path labels = find(dir, prefix + "-labels-idx1-ubyte");
    try {
      float[][] px = readImages(images);
      int[] lb = readLabels(labels);
      if (px.length != lb.length) {
        throw new IllegalStateException(images + " holds " + px.length + " images but " + labels + " " + lb.length + " labels");
      }
      return new Split(px, lb);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read Fashion-MNIST from " + dir + ": " + e.getMessage(), e);
    }
  }

  private static Path find(Path dir, String name) {
    for (Path p : List.of(dir.resolve(name + ".gz"), dir.resolve(name))) {
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    throw new IllegalStateException("Fashion-MNIST file " + name + "[.gz] not found in " + dir
        + ". Install the Debian package 'dataset-fashion-mnist' (sudo apt-get install dataset-fashion-mnist) or pass --data DIR "
        + "holding the four IDX files of the Fashion-MNIST project.");
  }

  private static DataInputStream open(Path p) throws IOException {
    InputStream in = new java.io.BufferedInputStream(Files.newInputStream(p), 1 << 16);
    if (p.getFileName().toString().endsWith(".gz")) {
      in = new GZIPInputStream(in, 1 << 16);
    }
    return new DataInputStream(in);
  }

  private static float[][] readImages(Path p) throws IOException {
    try (DataInputStream in = open(p)) {
      int magic = in.readInt();
      if (magic != 0x00000803) {
        throw new IOException(p + " is not an IDX image file (magic " + Integer.toHexString(magic) + ")");
      }
      int n = in.readInt();
      int rows = in.readInt();
      int cols = in.readInt();
      if (rows != SIDE || cols != SIDE) {
        throw new IOException(p + " holds " + rows + "x" + cols + " images, expected 28x28");
      }
      float[][] out = new float[n][SIDE * SIDE];
      byte[] buf = new byte[SIDE * SIDE];
      for (int i = 0; i < n; i++) {
        in.readFully(buf);
        for (int j = 0; j < buf.length; j++) {
          out[i][j] = (buf[j] & 0xff) / 255f;
        }
      }
      return out;
    }
  }

  private static int[] readLabels(Path p) throws IOException {
    try (DataInputStream in = open(p)) {
      int magic = in.readInt();
      if (magic != 0x00000801) {
        throw new IOException(p + " is not an IDX label file (magic " + Integer.toHexString(magic) + ")");
      }
      int n = in.readInt();
      int[] out = new int[n];
      for (int i = 0; i < n; i++) {
        out[i] = in.readUnsignedByte();
      }
      return out;
    }
  }
}
