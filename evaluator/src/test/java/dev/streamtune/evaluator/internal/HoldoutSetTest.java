package dev.streamtune.evaluator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class HoldoutSetTest {
  @Test
  void shouldSplitIntoRecentAfterDetectionAndGuardBeforeOnset() {
    HoldoutSet set = new HoldoutSet(100, 100);
    for (int i = 0; i < 1_000; i++) {
      set.add(new HoldoutSet.Item("s" + i, Instant.ofEpochSecond(i), "Bag", i < 800 ? "clean" : "night", new byte[0]));
    }
    HoldoutSet.Split split = set.split(Instant.ofEpochSecond(850), Instant.ofEpochSecond(790));
    assertThat(split.recent()).hasSize(100).allMatch(i -> i.domain().equals("night") && i.at().getEpochSecond() >= 850);
    assertThat(split.guard()).isNotEmpty().allMatch(i -> i.domain().equals("clean") && i.at().getEpochSecond() < 790);
    assertThat(set.size()).isEqualTo(300);
  }
}
