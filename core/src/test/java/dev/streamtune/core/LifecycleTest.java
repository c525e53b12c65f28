package dev.streamtune.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LifecycleTest {
  @Test
  void shouldTakeLegalTransitionsOnlyAndKeepTheCauseOfAFailure() {
    Lifecycle l = new Lifecycle("test");
    assertThat(l.get()).isEqualTo(ServiceState.STARTING);
    assertThat(l.to(ServiceState.STOPPED)).as("not without draining").isFalse();
    assertThat(l.to(ServiceState.RUNNING)).isTrue();
    assertThat(l.fail("the loop stopped", new IllegalStateException("disk full"))).isTrue();
    assertThat(l.cause()).isEqualTo("the loop stopped: disk full");
    assertThat(l.to(ServiceState.RUNNING)).as("a failed service does not come back by itself").isFalse();
    assertThat(l.to(ServiceState.DRAINING)).isTrue();
    assertThat(l.fail("late", new RuntimeException())).as("no failure while closing").isFalse();
    assertThat(l.to(ServiceState.STOPPED)).isTrue();
    assertThat(l.to(ServiceState.DRAINING)).isFalse();
    assertThat(l.get()).isEqualTo(ServiceState.STOPPED);
    assertThat(l.cause()).isEqualTo("the loop stopped: disk full");
  }
}
