package dev.streamtune.core.image;

import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.model.Normalization;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Turns encoded images into a network's input as its {@link ModelSpec} says: decode (PNG, JPEG, GIF, BMP) after checking the
 * size in the image's header, convert the channels (grey to an RGB network is replicated; RGB to a grey network becomes luma
 * 0.299 R + 0.587 G + 0.114 B), resize per the spec's policy (bilinear, half-pixel centres), normalise, and stack a batch in
 * the spec's layout. One image is held as {@code float[C*H*W]} (channel-major) between {@link #decode} and {@link #batch}.
 *
 * <p>The only place where pixels become tensors: serving, ingest, the evaluator and the trainer all use it. Immutable and
 * thread-safe.
 */
public final class Preprocessor {
  /** Images whose header claims more pixels than this are refused before decoding (a 20000×20000 PNG is 69 bytes). */
  public static final long DEFAULT_MAX_PIXELS = 4096L * 4096L;

  private final ModelSpec spec;
  private final long maxPixels;

  static {
    // decode reads from memory: without this, ImageIO buffers every stream in a temp file (slow, and it writes to disk per image)
    ImageIO.setUseCache(false);
  }

  private Preprocessor(ModelSpec spec, long maxPixels) {
    this.spec = spec;
    this.maxPixels = maxPixels;
  }

  /** The preprocessing of a spec, with the default pixel limit. */
  public static Preprocessor of(ModelSpec spec) {
    return new Preprocessor(spec, DEFAULT_MAX_PIXELS);
  }

  /** The same with another limit on the pixels an image's header may claim. */
  public Preprocessor withMaxPixels(long limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("max pixels must be >= 1, was " + limit);
    }
    return new Preprocessor(spec, limit);
  }

  public ModelSpec spec() {
    return spec;
  }

  /**
   * Decodes one image into the network's input values, channel-major {@code [C,H,W]}, normalised.
   *
   * @throws ImageFormatException {@code EMPTY}, {@code NOT_AN_IMAGE}, {@code TOO_LARGE} (from the header, before decoding) or
   *     {@code WRONG_SIZE} (another size and resize {@code none}); the message names the problem and both sizes
   */
  public float[] decode(byte[] encoded) {
    Planes p = read(encoded, maxPixels);
    p = toChannels(p, spec.channels());
    p = resize(p);
    normalize(p.data, spec.normalization(), spec.channels(), spec.height() * spec.width());
    return p.data;
  }

  /** Stacks images from {@link #decode} (or tensors of {@link ModelSpec#imageSize()} values, channel-major) into a batch. */
  public INDArray batch(List<float[]> images) {
    int size = spec.imageSize();
    float[] flat = new float[images.size() * size];
    for (int i = 0; i < images.size(); i++) {
      float[] img = images.get(i);
      if (img.length != size) {
        throw new IllegalArgumentException("image " + i + " has " + img.length + " values, the network takes " + size);
      }
      System.arraycopy(img, 0, flat, i * size, size);
    }
    INDArray nchw = Networks.floats(flat, images.size(), spec.channels(), spec.height(), spec.width());
    return toLayout(nchw);
  }

  /** An NCHW batch in the spec's layout (a copy in C order when the layout is NHWC). */
  public INDArray toLayout(INDArray nchw) {
    INDArray x = nchw.dataType() == DataType.FLOAT ? nchw : nchw.castTo(DataType.FLOAT);
    return spec.layout() == ModelSpec.Layout.NCHW ? x : x.permute(0, 2, 3, 1).dup('c');
  }

  /**
   * Encodes network input values of one image (channel-major, normalised as the spec says) back into a PNG: the inverse
   * normalisation, clipped to 0..255, grey or RGB as the spec's channels. For a network fed tensors rather than images, so
   * that its {@code inputs} events still carry an image: stored, not deflated (a sixth of the CPU on the request thread; the
   * event producers compress their batches).
   */
  public byte[] toPng(float[] chw) {
    int plane = spec.height() * spec.width();
    if (chw.length != spec.channels() * plane) {
      throw new IllegalArgumentException("image has " + chw.length + " values, the network takes " + spec.imageSize());
    }
    Normalization n = spec.normalization();
    int channels = spec.channels();
    // straight to interleaved 8-bit samples: the inverse normalisation rounded half up and clipped to 0..255 (NaN to 0); once
    // through float[0,1] and Math.round twice, this loop was the event thread's biggest cost
    byte[] samples = new byte[chw.length];
    for (int c = 0; c < channels; c++) {
      float offset = n.offset(c);
      float scale = n.scale(c);
      for (int i = 0, from = c * plane, to = c; i < plane; i++, from++, to += channels) {
        int b = (int) ((chw[from] - offset) / scale + 0.5f);
        samples[to] = (byte) (b < 0 ? 0 : Math.min(b, 255));
      }
    }
    return PngEncoder.encode(samples, spec.width(), spec.height(), channels, false);
  }

  /** Raw pixels on the 0..255 scale, channel-major, before any change. */
  static final class Planes {
    final int channels;
    final int height;
    final int width;
    final float[] data;

    Planes(int channels, int height, int width, float[] data) {
      this.channels = channels;
      this.height = height;
      this.width = width;
      this.data = data;
    }
  }

  /** Decodes after checking the header's size; grey images keep one plane (their stored samples), colour ones three. */
  static Planes read(byte[] encoded, long maxPixels) {
    if (encoded == null || encoded.length == 0) {
      throw new ImageFormatException(ImageFormatException.Kind.EMPTY, "empty body: expected an encoded image (PNG or JPEG)");
    }
    BufferedImage img;
    try (ImageInputStream in = new ByteArrayImageInputStream(encoded)) {
      // the reader by the format's signature (PNG, JPEG, GIF, BMP): asking every registered reader whether it can decode the
      // stream costs more than decoding a small image; anything else is offered to all of them
      ImageReader known = readerFor(encoded);
      Iterator<ImageReader> readers = known != null ? List.of(known).iterator() : ImageIO.getImageReaders(in);
      if (!readers.hasNext()) {
        throw notAnImage(encoded, null);
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(in, true, true);
        long w = reader.getWidth(0);
        long h = reader.getHeight(0);
        if (w * h > maxPixels) {
          throw new ImageFormatException(ImageFormatException.Kind.TOO_LARGE, "image of " + w + "x" + h + " = " + w * h
              + " pixels is larger than the limit of " + maxPixels + " pixels");
        }
        img = reader.read(0);
      } finally {
        reader.dispose();
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof ImageFormatException ife) {
        throw ife;
      }
      throw notAnImage(encoded, e);
    }
    if (img == null) {
      throw notAnImage(encoded, null);
    }
    int h = img.getHeight();
    int w = img.getWidth();
    Raster raster = img.getRaster();
    if (raster.getNumBands() <= 2 && img.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY) {
      // grey images: read the stored samples, not getRGB(), which converts linear grey to sRGB and changes the values
      float k = (float) (255.0 / ((1 << img.getColorModel().getComponentSize(0)) - 1));
      int[] samples = raster.getSamples(0, 0, w, h, 0, (int[]) null);
      float[] g = new float[h * w];
      for (int i = 0; i < g.length; i++) {
        g[i] = samples[i] * k;
      }
      return new Planes(1, h, w, g);
    }
    float[] rgb = new float[3 * h * w];
    int plane = h * w;
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int v = img.getRGB(x, y);
        int i = y * w + x;
        rgb[i] = (v >> 16) & 0xff;
        rgb[plane + i] = (v >> 8) & 0xff;
        rgb[2 * plane + i] = v & 0xff;
      }
    }
    return new Planes(3, h, w, rgb);
  }

  private static final List<javax.imageio.spi.ImageReaderSpi> PNG = spis("png");
  private static final List<javax.imageio.spi.ImageReaderSpi> JPEG = spis("jpeg");
  private static final List<javax.imageio.spi.ImageReaderSpi> GIF = spis("gif");
  private static final List<javax.imageio.spi.ImageReaderSpi> BMP = spis("bmp");

  private static List<javax.imageio.spi.ImageReaderSpi> spis(String format) {
    List<javax.imageio.spi.ImageReaderSpi> out = new java.util.ArrayList<>();
    ImageIO.getImageReadersByFormatName(format).forEachRemaining(r -> {
      if (r.getOriginatingProvider() != null) {
        out.add(r.getOriginatingProvider());
      }
      r.dispose();
    });
    return List.copyOf(out);
  }

  /** A new reader for the format the bytes' signature names, or null (an unknown signature: ask every reader). */
  /**
   * The media type an encoded image's signature names ({@code image/png}, {@code image/jpeg}, {@code image/gif},
   * {@code image/bmp}), or null when it names none of them.
   */
  public static String mediaType(byte[] b) {
    if (b.length >= 8 && (b[0] & 0xff) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') {
      return "image/png";
    }
    if (b.length >= 3 && (b[0] & 0xff) == 0xff && (b[1] & 0xff) == 0xd8 && (b[2] & 0xff) == 0xff) {
      return "image/jpeg";
    }
    if (b.length >= 6 && b[0] == 'G' && b[1] == 'I' && b[2] == 'F' && b[3] == '8') {
      return "image/gif";
    }
    if (b.length >= 2 && b[0] == 'B' && b[1] == 'M') {
      return "image/bmp";
    }
    return null;
  }

  private static ImageReader readerFor(byte[] b) throws IOException {
    String type = mediaType(b);
    if (type == null) {
      return null;
    }
    List<javax.imageio.spi.ImageReaderSpi> spis = switch (type) {
      case "image/png" -> PNG;
      case "image/jpeg" -> JPEG;
      case "image/gif" -> GIF;
      default -> BMP;
    };
    return spis.isEmpty() ? null : spis.get(0).createReaderInstance();
  }

  private static ImageFormatException notAnImage(byte[] encoded, Exception cause) {
    return new ImageFormatException(ImageFormatException.Kind.NOT_AN_IMAGE, cause == null
        ? "not a decodable image (expected PNG, JPEG, GIF or BMP; " + encoded.length + " bytes)"
        : "not a decodable image: " + cause.getMessage());
  }

  static Planes toChannels(Planes p, int channels) {
    if (p.channels == channels) {
      return p;
    }
    int plane = p.height * p.width;
    if (channels == 3) {
      float[] rgb = new float[3 * plane];
      for (int c = 0; c < 3; c++) {
        System.arraycopy(p.data, 0, rgb, c * plane, plane);
      }
      return new Planes(3, p.height, p.width, rgb);
    }
    float[] g = new float[plane];
    for (int i = 0; i < plane; i++) {
      g[i] = 0.299f * p.data[i] + 0.587f * p.data[plane + i] + 0.114f * p.data[2 * plane + i];
    }
    return new Planes(1, p.height, p.width, g);
  }

  private Planes resize(Planes p) {
    int th = spec.height();
    int tw = spec.width();
    if (p.height == th && p.width == tw) {
      return p;
    }
    switch (spec.resize()) {
      case STRETCH:
        return bilinear(p, 0, 0, p.height, p.width, th, tw);
      case CENTER_CROP: {
        // scale so the image covers the target, then take the centre: the crop window in source pixels
        double s = Math.max(th / (double) p.height, tw / (double) p.width);
        double ch = th / s;
        double cw = tw / s;
        return bilinear(p, (p.height - ch) / 2, (p.width - cw) / 2, ch, cw, th, tw);
      }
      default:
        throw new ImageFormatException(ImageFormatException.Kind.WRONG_SIZE, "wrong image size " + p.width + "x" + p.height
            + ", the model takes " + tw + "x" + th + " (its resize policy is none)");
    }
  }

  /** Samples the source window {@code [y0, y0+hh) x [x0, x0+ww)} onto {@code th x tw} with half-pixel centres. */
  static Planes bilinear(Planes p, double y0, double x0, double hh, double ww, int th, int tw) {
    float[] out = new float[p.channels * th * tw];
    int sp = p.height * p.width;
    for (int y = 0; y < th; y++) {
      double sy = Math.min(p.height - 1, Math.max(0, y0 + (y + 0.5) * hh / th - 0.5));
      int ya = (int) Math.floor(sy);
      int yb = Math.min(p.height - 1, ya + 1);
      float fy = (float) (sy - ya);
      for (int x = 0; x < tw; x++) {
        double sx = Math.min(p.width - 1, Math.max(0, x0 + (x + 0.5) * ww / tw - 0.5));
        int xa = (int) Math.floor(sx);
        int xb = Math.min(p.width - 1, xa + 1);
        float fx = (float) (sx - xa);
        for (int c = 0; c < p.channels; c++) {
          int base = c * sp;
          float top = p.data[base + ya * p.width + xa] * (1 - fx) + p.data[base + ya * p.width + xb] * fx;
          float bottom = p.data[base + yb * p.width + xa] * (1 - fx) + p.data[base + yb * p.width + xb] * fx;
          out[c * th * tw + y * tw + x] = top * (1 - fy) + bottom * fy;
        }
      }
    }
    return new Planes(p.channels, th, tw, out);
  }

  static void normalize(float[] data, Normalization n, int channels, int plane) {
    if (n.kind() == Normalization.Kind.UNIT) {
      // a division, not a multiplication by 1/255: the same floats as every earlier StreamTune version computed
      for (int i = 0; i < data.length; i++) {
        data[i] /= 255f;
      }
      return;
    }
    for (int c = 0; c < channels; c++) {
      float scale = n.scale(c);
      float offset = n.offset(c);
      for (int i = c * plane, e = i + plane; i < e; i++) {
        data[i] = data[i] * scale + offset;
      }
    }
  }
}
