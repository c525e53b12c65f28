package dev.streamtune.evaluator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.records.Decision.Verdict;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class GateRuleTest {
  private final GateRule rule = new GateRule(100, 0.02, 0.05, 0.01);

  private static boolean[] rightFirst(int n, int right) {
    boolean[] a = new boolean[n];
    Arrays.fill(a, 0, right, true);
    return a;
  }

  @Test
  void shouldPromoteARealGainThatKeepsTheGuardSet() {
    GateRule.Result r = rule.decide(rightFirst(300, 240), rightFirst(300, 170), rightFirst(200, 170), rightFirst(200, 171));
    assertThat(r.verdict()).isEqualTo(Verdict.PROMOTE);
    assertThat(r.candidateRecent()).isEqualTo(0.8);
    assertThat(r.championRecent()).isCloseTo(0.5667, org.assertj.core.data.Offset.offset(1e-3));
    assertThat(r.mcnemarP()).isLessThan(1e-10);
  }

  @Test
  void shouldRejectAGainThatChanceCouldGive() {
    // 3 more right answers out of 120: above min gain, but McNemar cannot tell it from noise
    boolean[] cand = rightFirst(120, 66);
    boolean[] champ = new boolean[120];
    for (int i = 3; i < 66; i++) {
      champ[i] = true;
    }
    GateRule r2 = new GateRule(100, 0.02, 0.05, 0.01);
    GateRule.Result r = r2.decide(cand, champ, new boolean[0], new boolean[0]);
    assertThat(r.verdict()).isEqualTo(Verdict.REJECT);
    assertThat(r.reason()).contains("not significant");
  }

  @Test
  void shouldRejectACandidateThatForgetsTheEarlierDomain() {
    GateRule.Result r = rule.decide(rightFirst(300, 240), rightFirst(300, 170), rightFirst(200, 150), rightFirst(200, 170));
    assertThat(r.verdict()).isEqualTo(Verdict.REJECT);
    assertThat(r.reason()).contains("forgets");
  }

  @Test
  void shouldPromoteWhenASmallGuardDropIsWithinTheNoise() {
    // guard: 300 samples, champion right on 260, candidate on 256; 20 answers only the champion gets, 16 only the candidate
    boolean[] champ = rightFirst(300, 260);
    boolean[] cand = new boolean[300];
    for (int i = 20; i < 276; i++) {
      cand[i] = true;
    }
    GateRule.Result r = rule.decide(rightFirst(300, 240), rightFirst(300, 170), cand, champ);
    assertThat(r.championGuard() - r.candidateGuard()).isBetween(0.01, 0.02);
    assertThat(r.verdict()).isEqualTo(Verdict.PROMOTE);
    assertThat(r.reason()).contains("within noise");
  }

  @Test
  void shouldRejectASmallGuardDropWhenItIsReal() {
    // guard: the candidate loses 5 of the champion's 260 right answers and gains none
    GateRule.Result r = rule.decide(rightFirst(300, 240), rightFirst(300, 170), rightFirst(300, 255), rightFirst(300, 260));
    assertThat(r.championGuard() - r.candidateGuard()).isBetween(0.01, 0.02);
    assertThat(r.verdict()).isEqualTo(Verdict.REJECT);
    assertThat(r.reason()).contains("forgets").contains("real");
  }

  @Test
  void shouldWaitForEnoughRecentSamples() {
    GateRule.Result r = rule.decide(rightFirst(50, 50), rightFirst(50, 0), new boolean[0], new boolean[0]);
    assertThat(r.verdict()).isEqualTo(Verdict.NOT_ENOUGH_DATA);
  }

  @Test
  void shouldComputeTheExactMcNemarTail() {
    assertThat(GateRule.mcnemarOneSided(10, 0)).isCloseTo(Math.pow(0.5, 10), org.assertj.core.data.Offset.offset(1e-15));
    assertThat(GateRule.mcnemarOneSided(0, 0)).isEqualTo(1.0);
    assertThat(GateRule.mcnemarOneSided(5, 5)).isGreaterThan(0.5);
  }
}
