package dev.streamtune.ingest.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class LabelSetTest {
  private static final List<String> LABELS = List.of("Coat", "Bag");

  @Test
  void shouldResolveNamesAndIndicesOnly() {
    LabelSet closed = new LabelSet(LABELS);

    assertThat(closed.resolve(" Coat ")).contains("Coat");
    assertThat(closed.resolve("1")).contains("Bag");
    assertThat(closed.resolve("2")).isEmpty();
    assertThat(closed.resolve("Hat")).isEmpty();
    assertThat(closed.resolve(null)).isEmpty();
    assertThat(closed.allowsNew()).isFalse();
  }

  @Test
  void shouldAcceptWellFormedNewNamesUpToTheBound() {
    LabelSet open = new LabelSet(LABELS, true, 2);

    assertThat(open.resolve("Hat")).contains("Hat");
    assertThat(open.resolve("Scarf 2")).contains("Scarf 2");
    assertThat(open.resolve("Hat")).as("a name already admitted").contains("Hat");
    assertThat(open.resolve("Glove")).as("a third new name").isEmpty();
    assertThat(open.isNew("Hat")).isTrue();
    assertThat(open.isNew("Coat")).isFalse();
    assertThat(open.describe()).contains("at most 2 new names, 2 seen");
  }

  @Test
  void shouldNeverTakeADecimalOrAMalformedNameAsANewLabel() {
    LabelSet open = new LabelSet(LABELS, true, 10);

    assertThat(open.resolve("7")).isEmpty();
    assertThat(open.resolve("a/b")).isEmpty();
    assertThat(open.resolve("x".repeat(65))).isEmpty();
    assertThat(open.resolve("")).isEmpty();
  }

  @Test
  void shouldRefuseAnEmptySetOrANegativeBound() {
    assertThatThrownBy(() -> new LabelSet(List.of())).hasMessageContaining("empty");
    assertThatThrownBy(() -> new LabelSet(LABELS, true, -1)).hasMessageContaining("-1");
  }
}
