package dev.streamtune.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ReplayBufferTest {
  private static ReplayBuffer.Item item(int i, String label, String domain) {
    return new ReplayBuffer.Item("s" + i, Instant.ofEpochSecond(i), label, domain, new float[1]);
  }

  @Test
  void shouldKeepNewSamplesAndAClassBalancedReservoirOfEarlierOnes() {
    ReplayBuffer b = new ReplayBuffer(500, 200, 2, 1);
    // a skewed earlier domain: 9 of 10 samples are Bags
    for (int i = 0; i < 5_000; i++) {
      b.add(item(i, i % 10 == 0 ? "Coat" : "Bag", "clean"));
    }
    for (int i = 5_000; i < 5_400; i++) {
      b.add(item(i, "Coat", "night"));
    }
    assertThat(b.recentSize()).isEqualTo(500);
    assertThat(b.reservoirSize()).isEqualTo(200);
    List<ReplayBuffer.Item> fresh = b.since(Instant.ofEpochSecond(5_000));
    assertThat(fresh).hasSize(400).allMatch(i -> i.domain().equals("night"));
    assertThat(b.countSince(Instant.ofEpochSecond(5_000))).isEqualTo(400);
    assertThat(b.countSince(Instant.ofEpochSecond(5_300))).isEqualTo(b.since(Instant.ofEpochSecond(5_300)).size()).isEqualTo(100);

    List<ReplayBuffer.Item> replay = b.replay(Instant.ofEpochSecond(5_000), 200, 9);
    assertThat(replay).hasSize(200).allMatch(i -> i.domain().equals("clean"));
    Map<String, Long> byClass = replay.stream().collect(Collectors.groupingBy(ReplayBuffer.Item::label, Collectors.counting()));
    assertThat(byClass.get("Coat")).isEqualTo(100);
    assertThat(byClass.get("Bag")).isEqualTo(100);
    assertThat(replay.stream().map(ReplayBuffer.Item::id).distinct().count()).isEqualTo(200);
  }

  @Test
  void shouldReplayFewerWhenThereAreFewerEarlierSamples() {
    ReplayBuffer b = new ReplayBuffer(100, 100, 10, 1);
    for (int i = 0; i < 30; i++) {
      b.add(item(i, "Bag", "clean"));
    }
    assertThat(b.replay(Instant.ofEpochSecond(20), 50, 1)).hasSize(20)
        .extracting(Function.identity()).allMatch(i -> i.at().getEpochSecond() < 20);
  }
}
