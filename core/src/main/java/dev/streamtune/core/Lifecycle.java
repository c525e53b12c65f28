package dev.streamtune.core;

import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A service's life as a state machine with legal transitions only ({@link ServiceState#canGoTo}, in the spirit of
 * {@code KafkaStreams.State}), and the cause of a failure: {@code /health/ready} reports both. Each transition is logged
 * once; an illegal one (a late "running" after a close began, a failure after the stop) is refused and changes nothing.
 * Thread-safe.
 */
public final class Lifecycle {
  private static final Logger log = LoggerFactory.getLogger(Lifecycle.class);
  private final String service;
  private final AtomicReference<ServiceState> state = new AtomicReference<>(ServiceState.STARTING);
  private volatile String cause;

  public Lifecycle(String service) {
    this.service = service;
  }

  public ServiceState get() {
    return state.get();
  }

  /** Why the service failed, or null. */
  public String cause() {
    return cause;
  }

  /** Moves to {@code next} if that is legal from the current state; whether it moved. */
  public boolean to(ServiceState next) {
    while (true) {
      ServiceState now = state.get();
      if (!now.canGoTo(next)) {
        if (now != next) {
          log.debug("{} stays {}: {} -> {} is not a legal transition", service, now, now, next);
        }
        return false;
      }
      if (state.compareAndSet(now, next)) {
        log.info("{} {} -> {}", service, now, next);
        return true;
      }
    }
  }

  /** Fails the service with its cause (kept for {@code /health/ready}), when it is not already stopping or stopped. */
  public boolean fail(String what, Throwable e) {
    boolean moved = to(ServiceState.FAILED);
    if (moved) {
      cause = what + ": " + (e == null ? "unknown" : e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
    }
    return moved;
  }
}
