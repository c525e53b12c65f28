package dev.streamtune.core.learn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class HoldoutTest {
  @Test
  void shouldHoldOutAStableShareOfIds() {
    long held = IntStream.range(0, 20_000).filter(i -> Holdout.isHeldOut("sample-" + i, 0.2)).count();
    assertThat(held).isBetween(3_700L, 4_300L);
    for (int i = 0; i < 100; i++) {
      assertThat(Holdout.isHeldOut("s" + i, 0.2)).isEqualTo(Holdout.isHeldOut("s" + i, 0.2));
    }
    assertThat(IntStream.range(0, 1000).noneMatch(i -> Holdout.isHeldOut("x" + i, 0.0))).isTrue();
  }
}
