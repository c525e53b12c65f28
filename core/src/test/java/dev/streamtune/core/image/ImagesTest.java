package dev.streamtune.core.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.testing.TestData;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class ImagesTest {
  @Test
  void shouldRoundTripAFashionMnistImageThroughPng() {
    float[] px = TestData.test().images()[0];
    float[] back = Images.decode(Images.toPng(px, 28, 28), 28, 28);
    for (int i = 0; i < px.length; i++) {
      assertThat(back[i]).isCloseTo(px[i], org.assertj.core.data.Offset.offset(1f / 255));
    }
    assertThat(TestData.test().size()).isEqualTo(10_000);
    assertThat(TestData.train().size()).isEqualTo(60_000);
  }

  @Test
  void shouldRejectBytesThatAreNotAnImageOrTheWrongSize() {
    assertThatThrownBy(() -> Images.decode("hello".getBytes(), 28, 28)).isInstanceOf(ImageFormatException.class)
        .hasMessageContaining("not a decodable image")
        .extracting(e -> ((ImageFormatException) e).kind()).isEqualTo(ImageFormatException.Kind.NOT_AN_IMAGE);
    byte[] big = Images.toPng(new float[32 * 32], 32, 32);
    assertThatThrownBy(() -> Images.decode(big, 28, 28)).hasMessageContaining("wrong image size 32x32")
        .extracting(e -> ((ImageFormatException) e).kind()).isEqualTo(ImageFormatException.Kind.WRONG_SIZE);
    assertThatThrownBy(() -> Images.decode(new byte[0], 28, 28)).hasMessageContaining("empty body")
        .extracting(e -> ((ImageFormatException) e).kind()).isEqualTo(ImageFormatException.Kind.EMPTY);
    assertThatThrownBy(() -> Images.decode(null, 28, 28))
        .extracting(e -> ((ImageFormatException) e).kind()).isEqualTo(ImageFormatException.Kind.EMPTY);
  }

  @Test
  void shouldWritePngsThatImageIoReadsBackSampleForSampleGreyAndRgbOfAnySizeDeflatedOrStored() throws Exception {
    java.util.Random rnd = new java.util.Random(7);
    for (int[] size : new int[][] {{1, 1}, {17, 9}, {5, 64}, {28, 28}, {-28, 28}}) {
      boolean compress = size[0] > 0;
      size = new int[] {Math.abs(size[0]), size[1]};
      int h = size[0];
      int w = size[1];
      float[] grey = new float[h * w];
      float[] rgb = new float[3 * h * w];
      for (int i = 0; i < grey.length; i++) {
        grey[i] = rnd.nextInt(256) / 255f;
      }
      for (int i = 0; i < rgb.length; i++) {
        rgb[i] = rnd.nextInt(256) / 255f;
      }
      java.awt.image.BufferedImage g = ImageIO.read(new java.io.ByteArrayInputStream(Images.toPng(grey, 1, h, w, compress)));
      java.awt.image.BufferedImage c = ImageIO.read(new java.io.ByteArrayInputStream(Images.toPng(rgb, 3, h, w, compress)));
      assertThat(g.getWidth()).isEqualTo(w);
      assertThat(g.getHeight()).isEqualTo(h);
      assertThat(g.getRaster().getNumBands()).isEqualTo(1);
      assertThat(c.getRaster().getNumBands()).isEqualTo(3);
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int i = y * w + x;
          assertThat(g.getRaster().getSample(x, y, 0)).as("grey %dx%d at %d,%d", h, w, x, y).isEqualTo(Math.round(grey[i] * 255));
          for (int k = 0; k < 3; k++) {
            assertThat(c.getRaster().getSample(x, y, k)).as("rgb %dx%d band %d", h, w, k)
                .isEqualTo(Math.round(rgb[k * h * w + i] * 255));
          }
        }
      }
    }
  }

  @Test
  void shouldDecodeInMemoryWithoutImageIoTempFiles() {
    Images.decode(Images.toPng(new float[28 * 28], 28, 28), 28, 28);
    assertThat(ImageIO.getUseCache()).isFalse();
  }

  @Test
  void shouldMakeShiftedDomainsThatDifferFromTheSource() {
    float[] px = TestData.test().images()[1];
    assertThat(Corruption.INVERT.apply(px, 28, 1)[0]).isEqualTo(1f - px[0]);
    assertThat(Corruption.NONE.apply(px, 28, 1)).isEqualTo(px);
    assertThat(Corruption.NIGHT.apply(px, 28, 1)).isEqualTo(Corruption.NIGHT.apply(px, 28, 1)).isNotEqualTo(px);
    float[] rot = Corruption.ROT90.apply(px, 28, 1);
    assertThat(rot[0 * 28 + 27]).isEqualTo(px[0]);
    assertThatThrownBy(() -> Corruption.parse("fog")).hasMessageContaining("unknown corruption 'fog'");
  }
}
