package dev.streamtune.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.config.ConfigException;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AugmentationTest {
  @Test
  void mirrorFlipsEachRowOfEachChannel() {
    // 2 channels of 2x3
    float[] x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    assertThat(Augmentation.apply("mirror", x, 2, 2, 3, new Random(1)))
        .containsExactly(3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10);
  }

  @Test
  void shiftMovesTheImageByAtMostTwoPixelsAndNoiseStaysInRange() {
    float[] x = new float[28 * 28];
    x[14 * 28 + 14] = 1;
    float[] y = Augmentation.apply("shift", x, 1, 28, 28, new Random(3));
    int at = -1;
    for (int i = 0; i < y.length; i++) {
      if (y[i] == 1) {
        at = i;
      }
    }
    assertThat(Math.abs(at / 28 - 14)).isLessThanOrEqualTo(2);
    assertThat(Math.abs(at % 28 - 14)).isLessThanOrEqualTo(2);
    float[] n = Augmentation.apply("noise", x, 1, 28, 28, new Random(3));
    for (float v : n) {
      assertThat(v).isBetween(0f, 1f);
    }
    assertThat(n).isNotEqualTo(x);
  }

  @Test
  void copiesOfTheNewDomainGoBeforeTheReplayedSamplesAndAreTheSameEveryTime() {
    Augmentation a = Augmentation.parse("mirror, shift");
    List<float[]> images = List.of(new float[] {1, 0, 0, 0}, new float[] {0, 1, 0, 0}, new float[] {0, 0, 1, 0});
    Augmentation.Expanded e = a.expand(List.of("a", "b", "old"), images, new int[] {3, 4, 5}, 2, 1, 2, 2);
    assertThat(e.ids()).containsExactly("a", "b", "a#mirror", "b#mirror", "a#shift", "b#shift", "old");
    assertThat(e.labels()).containsExactly(3, 4, 3, 4, 3, 4, 5);
    assertThat(e.replayFrom()).isEqualTo(6);
    assertThat(e.images().get(2)).containsExactly(0, 1, 0, 0);
    assertThat(e.images().get(6)).isSameAs(images.get(2));
    assertThat(a.expand(List.of("a", "b", "old"), images, new int[] {3, 4, 5}, 2, 1, 2, 2).images().get(4))
        .containsExactly(e.images().get(4));
    assertThat(a.describe()).isEqualTo("mirror,shift");
    assertThat(Augmentation.parse("none").expand(List.of("a"), images.subList(0, 1), new int[] {1}, 1, 1, 2, 2).ids())
        .containsExactly("a");
  }

  @Test
  void aBadSettingNamesTheKey() {
    assertThatThrownBy(() -> Augmentation.parse("mirror,rotate")).isInstanceOf(ConfigException.class)
        .hasMessageContaining(Augmentation.KEY).hasMessageContaining("rotate");
    assertThatThrownBy(() -> Augmentation.parse("mirror,mirror")).hasMessageContaining("twice");
    assertThat(Augmentation.parse("").none()).isTrue();
    assertThat(Augmentation.NONE.describe()).isNull();
  }
}
