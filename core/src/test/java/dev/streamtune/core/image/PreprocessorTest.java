package dev.streamtune.core.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Normalization;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

class PreprocessorTest {
  private static ModelSpec spec(int c, int h, int w, ModelSpec.Layout layout, Normalization n, ModelSpec.Resize resize) {
    return new ModelSpec(List.of(c, h, w), null, List.of("a", "b"), List.of("fc", "head"), null, null, layout, n, resize, null,
        null);
  }

  @Test
  void shouldReplicateGreyForAnRgbNetworkAndTakeLumaForAGreyOne() throws IOException {
    byte[] grey = png(4, 4, (x, y) -> grey(x * 60));
    float[] rgb = Preprocessor.of(spec(3, 4, 4, null, null, null)).decode(grey);
    assertThat(rgb).hasSize(48);
    for (int i = 0; i < 16; i++) {
      assertThat(rgb[16 + i]).isEqualTo(rgb[i]);
      assertThat(rgb[32 + i]).isEqualTo(rgb[i]);
    }
    assertThat(rgb[3]).isEqualTo(180 / 255f);

    byte[] red = png(4, 4, (x, y) -> 0xff0000);
    float[] g = Preprocessor.of(spec(1, 4, 4, null, null, null)).decode(red);
    assertThat(g[0]).isCloseTo(0.299f, within(1e-6f));
    float[] r = Preprocessor.of(spec(3, 4, 4, null, null, null)).decode(red);
    assertThat(new float[] {r[0], r[16], r[32]}).containsExactly(1f, 0f, 0f);
  }

  @Test
  void shouldRefuseAnImageWhoseHeaderClaimsTooManyPixelsBeforeDecodingIt() throws IOException {
    byte[] bomb = withPngSize(png(2, 2, (x, y) -> 0), 20_000, 20_000);
    assertThatThrownBy(() -> Preprocessor.of(spec(1, 28, 28, null, null, ModelSpec.Resize.STRETCH)).decode(bomb))
        .isInstanceOf(ImageFormatException.class).hasMessageContaining("20000x20000")
        .extracting(e -> ((ImageFormatException) e).kind()).isEqualTo(ImageFormatException.Kind.TOO_LARGE);
    byte[] ok = png(64, 64, (x, y) -> 0);
    assertThatThrownBy(() -> Preprocessor.of(spec(1, 64, 64, null, null, null)).withMaxPixels(1000).decode(ok))
        .hasMessageContaining("limit of 1000 pixels");
  }

  @Test
  void shouldStretchOrCropImagesOfAnotherSizeAndRefuseThemWithPolicyNone() throws IOException {
    // a 28x28 pattern drawn at twice the size: a 2x stretch down averages 2x2 blocks of equal pixels
    byte[] big = png(56, 56, (x, y) -> grey(((x / 2) * 7 + (y / 2) * 3) % 256));
    float[] small = Preprocessor.of(spec(1, 28, 28, null, null, ModelSpec.Resize.STRETCH)).decode(big);
    for (int y = 0; y < 28; y++) {
      for (int x = 0; x < 28; x++) {
        assertThat(small[y * 28 + x]).isCloseTo(((x * 7 + y * 3) % 256) / 255f, within(1e-6f));
      }
    }
    // 40 wide, 28 high: centre-crop keeps columns 6..33
    byte[] wide = png(40, 28, (x, y) -> grey(x >= 6 && x < 34 ? (x - 6) * 9 : 255));
    float[] crop = Preprocessor.of(spec(1, 28, 28, null, null, ModelSpec.Resize.CENTER_CROP)).decode(wide);
    for (int x = 0; x < 28; x++) {
      assertThat(crop[5 * 28 + x]).isCloseTo(x * 9 / 255f, within(1e-6f));
    }
    assertThatThrownBy(() -> Preprocessor.of(spec(1, 28, 28, null, null, null)).decode(wide))
        .hasMessageContaining("wrong image size 40x28, the model takes 28x28")
        .extracting(e -> ((ImageFormatException) e).kind()).isEqualTo(ImageFormatException.Kind.WRONG_SIZE);
  }

  @Test
  void shouldNormaliseAndStackInTheNetworksLayout() throws IOException {
    byte[] img = png(2, 3, (x, y) -> (x == 1 && y == 2) ? 0xff8000 : 0);
    Preprocessor p = Preprocessor.of(spec(3, 3, 2, ModelSpec.Layout.NHWC, Normalization.IMAGENET, null));
    float[] chw = p.decode(img);
    INDArray batch = p.batch(List.of(chw, chw));
    assertThat(batch.shape()).containsExactly(2, 3, 2, 3);
    assertThat(batch.getFloat(1, 2, 1, 0)).isCloseTo((float) ((1 - 0.485) / 0.229), within(1e-5f));
    assertThat(batch.getFloat(1, 2, 1, 1)).isCloseTo((float) ((128 / 255.0 - 0.456) / 0.224), within(1e-5f));
    assertThat(batch.getFloat(0, 0, 0, 2)).isCloseTo((float) (-0.406 / 0.225), within(1e-5f));
    // back to an image and in again: the same values
    assertThat(p.decode(p.toPng(chw))).containsExactly(chw);

    Preprocessor vgg = Preprocessor.of(spec(3, 3, 2, ModelSpec.Layout.NCHW, Normalization.VGG, null));
    INDArray v = vgg.batch(List.of(vgg.decode(img)));
    assertThat(v.shape()).containsExactly(1, 3, 3, 2);
    assertThat(v.getFloat(0, 0, 2, 1)).isCloseTo(255f - 123.68f, within(1e-4f));
  }

  @Test
  void shouldEncodeEveryGreyLevelBackAsItWasAndClipWhatLiesOutside() {
    Preprocessor p = Preprocessor.of(spec(1, 16, 16, ModelSpec.Layout.NCHW, Normalization.UNIT, null));
    float[] levels = new float[256];
    for (int i = 0; i < 256; i++) {
      levels[i] = i / 255f;
    }
    assertThat(p.decode(p.toPng(levels))).containsExactly(levels);
    float[] outside = new float[256];
    outside[0] = -3f;
    outside[1] = 7f;
    outside[2] = Float.NaN;
    outside[3] = 0.5f / 255f;
    float[] back = p.decode(p.toPng(outside));
    assertThat(back[0]).isZero();
    assertThat(back[1]).isEqualTo(1f);
    assertThat(back[2]).isZero();
    assertThat(back[3]).as("half a level rounds up").isEqualTo(1 / 255f);
  }

  private interface Pixel {
    int rgb(int x, int y);
  }

  private static int grey(int v) {
    return (v << 16) | (v << 8) | v;
  }

  private static byte[] png(int w, int h, Pixel p) throws IOException {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        img.setRGB(x, y, p.rgb(x, y));
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(img, "png", out);
    return out.toByteArray();
  }

  /** The same PNG with another width and height in its header (and the header's CRC fixed): what an image bomb claims. */
  private static byte[] withPngSize(byte[] png, int w, int h) {
    byte[] b = png.clone();
    // signature (8), length (4), "IHDR" (4), width (4), height (4) ... CRC over type + data (17 bytes) at offset 29
    put(b, 16, w);
    put(b, 20, h);
    CRC32 crc = new CRC32();
    crc.update(b, 12, 17);
    put(b, 29, (int) crc.getValue());
    return b;
  }

  private static void put(byte[] b, int at, int v) {
    b[at] = (byte) (v >>> 24);
    b[at + 1] = (byte) (v >>> 16);
    b[at + 2] = (byte) (v >>> 8);
    b[at + 3] = (byte) v;
  }
}
