package dev.streamtune.core.image;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

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
   * Decodes and checks the size.
   *
   * @throws ImageFormatException of {@link ImageFormatException.Kind#EMPTY} for no bytes,
   *     {@link ImageFormatException.Kind#NOT_AN_IMAGE} for bytes that do not decode, {@link ImageFormatException.Kind#WRONG_SIZE}
   *     for an image of another size; the message names the problem
   */
  public static float[] decode(byte[] encoded, int height, int width) {
    if (encoded == null || encoded.length == 0) {
      throw new ImageFormatException(ImageFormatException.Kind.EMPTY, "empty body: expected an encoded image (PNG or JPEG)");
    }
    BufferedImage img;
    try {
      img = ImageIO.read(new ByteArrayInputStream(encoded));
    } catch (IOException | RuntimeException e) {
      throw new ImageFormatException(ImageFormatException.Kind.NOT_AN_IMAGE, "not a decodable image: " + e.getMessage());
    }
    if (img == null) {
      throw new ImageFormatException(ImageFormatException.Kind.NOT_AN_IMAGE,
          "not a decodable image (expected PNG, JPEG, GIF or BMP; " + encoded.length + " bytes)");
    }
    if (img.getHeight() != height || img.getWidth() != width) {
      throw new ImageFormatException(ImageFormatException.Kind.WRONG_SIZE,
          "wrong image size " + img.getWidth() + "x" + img.getHeight() + ", the model takes " + width + "x" + height);
    }
    float[] px = new float[height * width];
    java.awt.image.Raster raster = img.getRaster();
    if (raster.getNumBands() <= 2 && img.getColorModel().getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_GRAY) {
      // grey images: read the stored samples, not getRGB(), which converts linear grey to sRGB and changes the values
      double max = (1 << img.getColorModel().getComponentSize(0)) - 1;
      for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
          px[y * width + x] = (float) (raster.getSample(x, y, 0) / max);
        }
      }
      return px;
    }
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int rgb = img.getRGB(x, y);
        int r = (rgb >> 16) & 0xff;
        int g = (rgb >> 8) & 0xff;
        int b = rgb & 0xff;
        px[y * width + x] = (0.299f * r + 0.587f * g + 0.114f * b) / 255f;
      }
    }
    return px;
  }

  /** Encodes grey pixels in [0,1] as an 8-bit grey PNG. */
  public static byte[] toPng(float[] pixels, int height, int width) {
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
    byte[] data = ((java.awt.image.DataBufferByte) img.getRaster().getDataBuffer()).getData();
    for (int i = 0; i < data.length; i++) {
      float v = Math.max(0f, Math.min(1f, pixels[i]));
      data[i] = (byte) Math.round(v * 255f);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(512);
    try {
      ImageIO.write(img, "png", out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** Stacks pixel arrays into the network input {@code [N,1,H,W]}. */
  public static INDArray batch(java.util.List<float[]> images, int height, int width) {
    float[] flat = new float[images.size() * height * width];
    for (int i = 0; i < images.size(); i++) {
      System.arraycopy(images.get(i), 0, flat, i * height * width, height * width);
    }
    return Nd4j.create(flat, new long[] {images.size(), 1, height, width}, 'c').castTo(DataType.FLOAT);
  }
}
