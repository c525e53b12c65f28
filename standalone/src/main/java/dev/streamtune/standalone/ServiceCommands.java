package dev.streamtune.standalone;

import dev.streamtune.core.ServiceState;
import dev.streamtune.evaluator.EvaluatorConfig;
import dev.streamtune.evaluator.EvaluatorService;
import dev.streamtune.ingest.IngestConfig;
import dev.streamtune.ingest.IngestService;
import dev.streamtune.serving.ServingConfig;
import dev.streamtune.serving.ServingService;
import dev.streamtune.trainer.TrainerConfig;
import dev.streamtune.trainer.TrainerService;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** One service against a Kafka cluster, as a container runs it; stops on SIGTERM/Ctrl-C. */
final class ServiceCommands {
  private ServiceCommands() {}

  /** How long a service may stay FAILED before the process exits so that its supervisor restarts it. */
  static final Duration FAILED_GRACE = Duration.ofSeconds(5);

  /**
   * Builds (validating its config), starts and runs one service until the process is told to stop, or until the service has
   * been FAILED for {@link #FAILED_GRACE}: then it is closed and the process exits with status 1, so a supervisor (a
   * container's restart policy, systemd, Kubernetes) starts a fresh one instead of leaving a dead service up.
   */
  static <S extends AutoCloseable> int serve(String name, Supplier<S> create, Consumer<S> start, Function<S, ServiceState> state)
      throws InterruptedException {
    logLoopEvents();
    S service = create.get();
    CountDownLatch stopped = new CountDownLatch(1);
    AtomicBoolean closed = new AtomicBoolean();
    Runnable close = () -> {
      if (closed.compareAndSet(false, true)) {
        try {
          service.close();
        } catch (Exception e) {
          System.err.println(name + ": error on close: " + e);
        }
      }
      stopped.countDown();
    };
    Runtime.getRuntime().addShutdownHook(new Thread(close, name + "-shutdown"));
    start.accept(service);
    System.out.println(name + " running; Ctrl-C to stop");
    long failedSince = -1;
    while (!stopped.await(1, TimeUnit.SECONDS)) {
      if (state.apply(service) != ServiceState.FAILED) {
        failedSince = -1;
      } else if (failedSince < 0) {
        failedSince = System.nanoTime();
      } else if (System.nanoTime() - failedSince >= FAILED_GRACE.toNanos()) {
        System.err.println(name + " FAILED (its log says why); exiting with status 1 so that it is restarted");
        close.run();
        return 1;
      }
    }
    return 0;
  }

  /**
   * A service run on its own logs at INFO: its start-up line (address, port, model version) and one line per loop event (drift,
   * retrain, verdict, promotion, swap), the lines an operator follows. {@code STREAMTUNE_LOG_LEVEL} (or the {@code logback.xml}
   * it reads) wins; the demo, which tells its own story, stays at WARN.
   */
  static void logLoopEvents() {
    if (System.getenv("STREAMTUNE_LOG_LEVEL") == null
        && org.slf4j.LoggerFactory.getLogger("dev.streamtune") instanceof ch.qos.logback.classic.Logger logger) {
      logger.setLevel(ch.qos.logback.classic.Level.INFO);
    }
  }

  @Command(name = "ingest", mixinStandardHelpOptions = true,
      description = "Run the ingest service: validates samples.raw, joins inputs with feedback, HTTP for samples and feedback.")
  static final class Ingest implements Callable<Integer> {
    @Mixin
    Common common;

    @Override
    public Integer call() throws Exception {
      return serve("ingest", () -> new IngestService(IngestConfig.from(common.settings())), IngestService::start, IngestService::state);
    }
  }

  @Command(name = "evaluator", mixinStandardHelpOptions = true,
      description = "Run the evaluator: live accuracy and drift from predictions and feedback, and the promotion gate.")
  static final class Evaluator implements Callable<Integer> {
    @Mixin
    Common common;

    @Override
    public Integer call() throws Exception {
      return serve("evaluator", () -> new EvaluatorService(EvaluatorConfig.from(common.settings())), EvaluatorService::start, EvaluatorService::state);
    }
  }

  @Command(name = "trainer", mixinStandardHelpOptions = true,
      description = "Run the trainer: fine-tunes the unfrozen top layers on drift and publishes candidates.")
  static final class Trainer implements Callable<Integer> {
    @Mixin
    Common common;

    @Override
    public Integer call() throws Exception {
      return serve("trainer", () -> new TrainerService(TrainerConfig.from(common.settings())), TrainerService::start, TrainerService::state);
    }
  }

  @Command(name = "serving", mixinStandardHelpOptions = true,
      description = "Run a serving node: POST /predict, the Open Inference Protocol over REST (/v2) and gRPC "
          + "(streamtune.serving.grpc-port, default 8085), micro-batching, hot swap of promoted versions.")
  static final class Serving implements Callable<Integer> {
    @Mixin
    Common common;

    @Override
    public Integer call() throws Exception {
      return serve("serving", () -> new ServingService(ServingConfig.from(common.settings())), ServingService::start, ServingService::state);
    }
  }
}
