package dev.streamtune.core.image;

import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Networks;
import java.util.List;
import javax.imageio.ImageIO;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Image decoding and the model's preprocessing: an encoded image (PNG, JPEG, GIF, BMP) of exactly the model's size becomes
 * grey-scale pixels in [0,1] (luma of RGB), row-major. Stateless and thread-safe.
 */
public final class Images {
  /** The preprocessing named in model manifests. */
  public static final String PREPROCESSING = "decode, grey = luma(RGB), scale /255 to [0,1], NCHW [N,1,H,W]";

  static {
    // decode reads from memory: without this, ImageIO buffers every stream in a temp file (slow, and it writes to disk per image)
    ImageIO.setUseCache(false);
  }

  private Images() {}

  /**
   * Decodes a grey image of exactly {@code height x width} into pixels in [0,1], row-major: {@link Preprocessor} for a grey
   * NCHW network on [0,1] pixels with resize none.
   *
   * @throws ImageFormatException see {@link Preprocessor#decode(byte[])}
   */
  public static float[] decode(byte[] encoded, int height, int width) {
    return Preprocessor.of(greySpec(height, width)).decode(encoded);
  }

  private static ModelSpec greySpec(int height, int width) {
    return new ModelSpec(List.of(1, height, width), PREPROCESSING, List.of("?"), List.of("input", "output"), null);
  }

  /** Encodes grey pixels in [0,1] as an 8-bit grey PNG. */
  public static byte[] toPng(float[] pixels, int height, int width) {
    return toPng(pixels, height, width, true);
  }

  private static byte[] toPng(float[] pixels, int height, int width, boolean compress) {
    if (pixels.length != height * width) {
      throw new IllegalArgumentException("expected " + height + "x" + width + " grey values, got " + pixels.length);
    }
    byte[] data = new byte[height * width];
    for (int i = 0; i < data.length; i++) {
      data[i] = (byte) byte255(pixels[i]);
    }
    return PngEncoder.encode(data, width, height, 1, compress);
  }

  /**
   * Encodes channel-major values in [0,1] ({@code channels} 1 or 3 planes of {@code height x width}) as an 8-bit PNG, grey or
   * RGB.
   */
  public static byte[] toPng(float[] chw, int channels, int height, int width) {
    return toPng(chw, channels, height, width, true);
  }

  /**
   * The same, the image data deflated or, with {@code compress} false, stored: a valid PNG about 1.6 times larger for a
   * 28x28 image, written in a sixth of the time (measured), for a consumer that compresses batches of them itself.
   */
  public static byte[] toPng(float[] chw, int channels, int height, int width, boolean compress) {
    if (channels == 1) {
      return toPng(chw, height, width, compress);
    }
    if (channels != 3 || chw.length != 3 * height * width) {
      throw new IllegalArgumentException("expected 1 or 3 planes of " + height + "x" + width + ", got " + chw.length
          + " values for " + channels + " channels");
    }
    int plane = height * width;
    byte[] rgb = new byte[3 * plane];
    for (int i = 0; i < plane; i++) {
      rgb[3 * i] = (byte) byte255(chw[i]);
      rgb[3 * i + 1] = (byte) byte255(chw[plane + i]);
      rgb[3 * i + 2] = (byte) byte255(chw[2 * plane + i]);
    }
    return PngEncoder.encode(rgb, width, height, 3, compress);
  }

  private static int byte255(float v) {
    return Math.round(Math.max(0f, Math.min(1f, v)) * 255f);
  }

  /** Stacks pixel arrays into the network input {@code [N,1,H,W]}. */
  public static INDArray batch(java.util.List<float[]> images, int height, int width) {
    float[] flat = new float[images.size() * height * width];
    for (int i = 0; i < images.size(); i++) {
      System.arraycopy(images.get(i), 0, flat, i * height * width, height * width);
    }
    return Networks.floats(flat, images.size(), 1, height, width);
  }
}
