package dev.streamtune.standalone;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.ServiceState;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ServiceCommandsTest {
  /** A service that fails a moment after it started. */
  private static final class Failing implements AutoCloseable {
    final AtomicReference<ServiceState> state = new AtomicReference<>(ServiceState.STARTING);
    final AtomicBoolean closed = new AtomicBoolean();

    void start() {
      state.set(ServiceState.RUNNING);
      Thread t = new Thread(() -> {
        try {
          Thread.sleep(500);
        } catch (InterruptedException e) {
          return;
        }
        state.set(ServiceState.FAILED);
      });
      t.setDaemon(true);
      t.start();
    }

    @Override
    public void close() {
      closed.set(true);
    }
  }

  @Test
  void shouldCloseAFailedServiceAndExitNonZeroSoThatItsSupervisorRestartsIt() throws Exception {
    Failing service = new Failing();

    int status = ServiceCommands.serve("test", () -> service, Failing::start, s -> s.state.get());

    assertThat(status).isEqualTo(1);
    assertThat(service.closed).isTrue();
  }
}
