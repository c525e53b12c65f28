package dev.streamtune.core.image;

/**
 * The colour source domain of the RGB backbone, made from clean Fashion-MNIST: each 28×28 grey image becomes a 32×32 RGB
 * product photo — the garment centred with a 2-pixel margin, in a colour of its own, on a warm off-white backdrop.
 *
 * <p>How: a grey value {@code x} (1 = the garment's brightest, 0 = Fashion-MNIST's black background) blends the backdrop
 * {@code (0.93, 0.91, 0.86)} with the garment colour: {@code rgb = backdrop·(1−x) + colour·x}. The colour is an HSV colour with
 * saturation 0.65 and value 0.85 whose hue is the fractional part of {@code key·0.618034} (the golden ratio spreads consecutive
 * keys around the colour wheel), so it depends on the image, never on its label: a network must still learn shapes. Pure and
 * deterministic; thread-safe.
 */
public final class ColourRendering {
  /** The rendered images' side. */
  public static final int SIDE = 32;
  private static final int MARGIN = (SIDE - FashionMnist.SIDE) / 2;
  private static final float[] BACKDROP = {0.93f, 0.91f, 0.86f};

  private ColourRendering() {}

  /**
   * Renders one grey Fashion-MNIST image ({@code 28*28} values in [0,1]) as channel-major RGB {@code [3, 32, 32]} in [0,1].
   *
   * @param key what picks the garment's colour (e.g. the image's index in its split)
   */
  public static float[] render(float[] grey, long key) {
    int side = FashionMnist.SIDE;
    if (grey.length != side * side) {
      throw new IllegalArgumentException("expected a 28x28 grey image, got " + grey.length + " values");
    }
    float[] colour = hsv(fraction(key * 0.6180339887498949), 0.65f, 0.85f);
    int plane = SIDE * SIDE;
    float[] out = new float[3 * plane];
    for (int c = 0; c < 3; c++) {
      java.util.Arrays.fill(out, c * plane, (c + 1) * plane, BACKDROP[c]);
    }
    for (int y = 0; y < side; y++) {
      for (int x = 0; x < side; x++) {
        float v = grey[y * side + x];
        int at = (y + MARGIN) * SIDE + x + MARGIN;
        for (int c = 0; c < 3; c++) {
          out[c * plane + at] = BACKDROP[c] * (1 - v) + colour[c] * v;
        }
      }
    }
    return out;
  }

  private static float fraction(double v) {
    return (float) (v - Math.floor(v));
  }

  private static float[] hsv(float h, float s, float v) {
    int rgb = java.awt.Color.HSBtoRGB(h, s, v);
    return new float[] {((rgb >> 16) & 0xff) / 255f, ((rgb >> 8) & 0xff) / 255f, (rgb & 0xff) / 255f};
  }
}
