package dev.streamtune.core;

/** The life of a service, reported on {@code /health/ready}: ready only when {@link #RUNNING}. */
public enum ServiceState {
  STARTING, RUNNING, DRAINING, STOPPED, FAILED;

  /**
   * Whether a service may go from this state to {@code next}: STARTING → RUNNING | FAILED | DRAINING; RUNNING → DRAINING |
   * FAILED; FAILED → DRAINING; DRAINING → STOPPED; nothing leaves STOPPED.
   */
  public boolean canGoTo(ServiceState next) {
    return switch (this) {
      case STARTING -> next == RUNNING || next == FAILED || next == DRAINING;
      case RUNNING -> next == DRAINING || next == FAILED;
      case FAILED -> next == DRAINING;
      case DRAINING -> next == STOPPED;
      case STOPPED -> false;
    };
  }
}
