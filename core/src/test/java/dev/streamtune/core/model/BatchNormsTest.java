package dev.streamtune.core.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class BatchNormsTest {
  @Test
  void shouldSpreadTheRecalibrationImagesOverAListOrderedByDomain() {
    // 2,000 new-domain items first, then 4,000 replayed ones: the sample keeps the training mix, not the first domain
    List<String> train = IntStream.range(0, 6000).mapToObj(i -> i < 2000 ? "new" : "old").toList();

    List<String> sample = BatchNorms.spread(train, 1024);

    assertThat(sample).hasSize(1024);
    assertThat(sample.stream().filter("new"::equals).count()).isBetween(340L, 343L);
    assertThat(BatchNorms.spread(List.of("a", "b"), 1024)).containsExactly("a", "b");
  }
}
