package dev.streamtune.serving.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class SwapJitterTest {
  private static final long MS = 1_000_000L;
  private static final long S = 1_000_000_000L;

  @Test
  void shouldCompareTheP99OfTheRequestsDuringASwapWithTheSteadyP99BeforeIt() {
    SwapJitter j = new SwapJitter();
    long t = 100 * S;
    // 30 s of steady traffic, the last 10 s of it compared with: 99 % at 10 ms, 1 % at 20 ms
    for (int i = 0; i < 3000; i++) {
      j.record(i % 100 == 0 ? 20 * MS : 10 * MS, t + i * 10 * MS);
    }
    t += 30 * S;
    j.started(t);
    // during the swap and the second after it: a tenth of the requests at 40 ms
    for (int i = 0; i < 200; i++) {
      j.record(i % 10 == 0 ? 40 * MS : 10 * MS, t + i * 5 * MS);
    }
    j.ended(7, t + 100 * MS);
    assertThat(j.close(t + 1000 * MS)).as("not before a second after the swap ended").isEmpty();
    SwapJitter.Result r = j.close(t + 1200 * MS).orElseThrow();
    assertThat(r.version()).isEqualTo(7);
    assertThat(r.swapRequests()).isEqualTo(200);
    assertThat(r.steadyRequests()).as("the seconds of the last 10 that passed: 9 of 100 requests").isEqualTo(900);
    // p99s within a bucket (10 %) above the true values
    assertThat(r.steadyP99Seconds()).isBetween(0.010, 0.011);
    assertThat(r.swapP99Seconds()).isBetween(0.040, 0.044);
    assertThat(r.ratio()).isCloseTo(4.0, within(0.4));
    assertThat(j.close(t + 5 * S)).as("closed once").isEmpty();

    // requests after the window count as steady again: a later swap on calm traffic is about 1x
    long t2 = t + 2 * S;
    for (int i = 0; i < 500; i++) {
      j.record(10 * MS, t2 + i * 2 * MS);
    }
    j.started(t2 + S);
    for (int i = 0; i < 100; i++) {
      j.record(10 * MS, t2 + S + i * MS);
    }
    j.ended(8, t2 + S);
    assertThat(j.close(t2 + 3 * S).orElseThrow().ratio()).isCloseTo(1.0, within(0.11));
  }

  @Test
  void shouldSayNothingWhenTooFewRequestsWereAnsweredAndMergeBackToBackSwaps() {
    SwapJitter j = new SwapJitter();
    j.started(S);
    j.record(5 * MS, S + MS);
    j.ended(2, 2 * S);
    assertThat(j.close(4 * S)).isEmpty();

    for (int i = 0; i < 100; i++) {
      j.record(5 * MS, 10 * S + i * MS);
    }
    j.started(11 * S);
    j.ended(3, 11 * S + 100 * MS);
    j.started(11 * S + 500 * MS); // the next swap starts inside the first one's window: one window for both
    for (int i = 0; i < 50; i++) {
      j.record(50 * MS, 11 * S + 600 * MS + i * MS);
    }
    j.ended(4, 12 * S);
    assertThat(j.close(12 * S + 500 * MS)).isEmpty();
    SwapJitter.Result r = j.close(13 * S).orElseThrow();
    assertThat(r.version()).isEqualTo(4);
    assertThat(r.swapRequests()).isEqualTo(50);
    assertThat(r.ratio()).isGreaterThan(9);
  }

  @Test
  void shouldReportEveryTenSecondsWhileSwapsFollowEachOtherAndCompareWithTheSteadyTrafficBeforeThem() {
    SwapJitter j = new SwapJitter();
    for (int i = 0; i < 200; i++) {
      j.record(10 * MS, 5 * S + i * 10 * MS);
    }
    java.util.List<SwapJitter.Result> results = new java.util.ArrayList<>();
    long t = 8 * S;
    for (int k = 0; k < 50; k++) { // a swap every 500 ms for 25 s, 20 ms answers meanwhile
      j.started(t);
      for (int i = 0; i < 10; i++) {
        j.record(20 * MS, t + i * 40 * MS);
      }
      j.ended(k, t + 100 * MS);
      t += 500 * MS;
      j.close(t).ifPresent(results::add);
    }
    assertThat(results).as("one result per 10 s of back-to-back swaps").hasSize(2);
    assertThat(results).allSatisfy(r -> {
      assertThat(r.steadyRequests()).isEqualTo(200);
      assertThat(r.ratio()).isCloseTo(2.0, within(0.2));
    });
  }

  @Test
  void shouldBucketLatenciesWithinTenPercent() {
    for (long n : new long[] {60_000, 1_000_000, 123_456_789, 2_000_000_000L}) {
      double upper = 50_000 * Math.pow(1.1, SwapJitter.bucket(n));
      assertThat(upper).as("bucket of %d", n).isGreaterThanOrEqualTo(n).isLessThan(n * 1.1 + 1);
    }
  }
}
