package dev.streamtune.core.image;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Domain shifts made from clean images (values in [0,1], square, one plane for grey or channel-major planes for colour), as a new
 * camera or lighting would make them. Each plane is changed alike (noise is drawn per value, plane after plane), except by the
 * colour cast. Deterministic for a given seed. Results are clipped to [0,1].
 */
public enum Corruption {
  /** The source domain, unchanged. */
  NONE,
  /** Dim and noisy: {@code x*0.4 + N(0, 0.15)} — a cheap camera at night. */
  NIGHT,
  /** {@code 1 - x}: a negative, or a dark product on a light belt. */
  INVERT,
  /** Gaussian blur, sigma 1.5: an out-of-focus lens. */
  BLUR,
  /** Low contrast around grey plus noise: {@code 0.5 + (x-0.5)*0.3 + N(0, 0.08)} — fog or glare. */
  CONTRAST,
  /** Rotated 90 degrees clockwise: a camera mounted sideways. */
  ROT90,
  /**
   * A new camera: a warm white balance (red ×1.1, blue ×0.8, clipped) seen through a soft lens (Gaussian blur, sigma 1). On a
   * grey image the cast is its luma (×1.007), so there it is the blur alone.
   */
  CAST_BLUR;

  private static final float[] CAST = {1.1f, 1.0f, 0.8f};
  private static final float GREY_CAST = 0.299f * 1.15f + 0.587f * 0.95f + 0.114f * 0.6f;

  public static Corruption parse(String name) {
    try {
      return valueOf(name.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "unknown corruption '" + name + "', one of " + Arrays.stream(values()).map(Corruption::id).toList());
    }
  }

  public String id() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /**
   * Applies the corruption to a copy of the image; {@code seed} drives the noise.
   *
   * @param px one {@code side x side} plane (grey) or channel-major planes (RGB: three)
   */
  public float[] apply(float[] px, int side, long seed) {
    int plane = side * side;
    if (px.length == 0 || px.length % plane != 0) {
      throw new IllegalArgumentException("an image of " + px.length + " values is not whole " + side + "x" + side + " planes");
    }
    int channels = px.length / plane;
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] out = new float[px.length];
    for (int c = 0; c < channels; c++) {
      float cast = channels == 3 ? CAST[c] : GREY_CAST;
      float[] p = applyPlane(Arrays.copyOfRange(px, c * plane, (c + 1) * plane), side, rnd, cast);
      System.arraycopy(p, 0, out, c * plane, plane);
    }
    for (int i = 0; i < out.length; i++) {
      out[i] = Math.max(0f, Math.min(1f, out[i]));
    }
    return out;
  }

  private float[] applyPlane(float[] px, int side, SplittableRandom rnd, float factor) {
    float[] out = new float[px.length];
    switch (this) {
      case NONE -> System.arraycopy(px, 0, out, 0, px.length);
      case NIGHT -> {
        for (int i = 0; i < px.length; i++) {
          out[i] = px[i] * 0.4f + (float) (gaussian(rnd) * 0.15);
        }
      }
      case INVERT -> {
        for (int i = 0; i < px.length; i++) {
          out[i] = 1f - px[i];
        }
      }
      case BLUR -> out = blur(px, side, 1.5);
      case CONTRAST -> {
        for (int i = 0; i < px.length; i++) {
          out[i] = 0.5f + (px[i] - 0.5f) * 0.3f + (float) (gaussian(rnd) * 0.08);
        }
      }
      case ROT90 -> {
        for (int y = 0; y < side; y++) {
          for (int x = 0; x < side; x++) {
            // clockwise: the pixel at (row y, col x) moves to (row x, col side-1-y)
            out[x * side + (side - 1 - y)] = px[y * side + x];
          }
        }
      }
      case CAST_BLUR -> {
        float[] cast = new float[px.length];
        for (int i = 0; i < px.length; i++) {
          cast[i] = Math.min(1f, factor * px[i]);
        }
        out = blur(cast, side, 1.0);
      }
    }
    return out;
  }

  private static double gaussian(SplittableRandom rnd) {
    // Box-Muller; SplittableRandom has no nextGaussian on Java 17
    double u = 1.0 - rnd.nextDouble();
    double v = rnd.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  private static float[] blur(float[] px, int side, double sigma) {
    int r = (int) Math.ceil(3 * sigma);
    double[] k = new double[2 * r + 1];
    double sum = 0;
    for (int i = -r; i <= r; i++) {
      k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
      sum += k[i + r];
    }
    for (int i = 0; i < k.length; i++) {
      k[i] /= sum;
    }
    float[] tmp = new float[px.length];
    float[] out = new float[px.length];
    for (int y = 0; y < side; y++) {
      for (int x = 0; x < side; x++) {
        double acc = 0;
        for (int i = -r; i <= r; i++) {
          int xx = Math.min(side - 1, Math.max(0, x + i));
          acc += k[i + r] * px[y * side + xx];
        }
        tmp[y * side + x] = (float) acc;
      }
    }
    for (int y = 0; y < side; y++) {
      for (int x = 0; x < side; x++) {
        double acc = 0;
        for (int i = -r; i <= r; i++) {
          int yy = Math.min(side - 1, Math.max(0, y + i));
          acc += k[i + r] * tmp[yy * side + x];
        }
        out[y * side + x] = (float) acc;
      }
    }
    return out;
  }
}
