package dev.streamtune.trainer.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LabelSetsTest {
  @Test
  void shouldAppendNewLabelsInFirstSeenOrderKeepingTheOldIndices() {
    List<String> grown = LabelSets.grow(List.of("Bag", "Coat"), List.of("Coat", "Scarf", "Bag", "Hat"),
        Set.of("Hat", "Coat", "Scarf"));

    assertThat(grown).containsExactly("Bag", "Coat", "Scarf", "Hat");
  }

  @Test
  void shouldNotAddALabelWithoutTrainingSamples() {
    List<String> grown = LabelSets.grow(List.of("Bag", "Coat"), List.of("Bag", "Scarf", "Hat"), Set.of("Bag", "Hat"));

    assertThat(grown).containsExactly("Bag", "Coat", "Hat");
  }

  @Test
  void shouldKeepTheLabelSetWhenNothingIsNew() {
    assertThat(LabelSets.grow(List.of("Bag", "Coat"), List.of("Coat"), Set.of("Coat"))).containsExactly("Bag", "Coat");
  }
}
