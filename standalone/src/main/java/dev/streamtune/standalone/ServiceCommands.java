package dev.streamtune.standalone;

import dev.streamtune.evaluator.EvaluatorConfig;
import dev.streamtune.evaluator.EvaluatorService;
import dev.streamtune.ingest.IngestConfig;
import dev.streamtune.ingest.IngestService;
import dev.streamtune.serving.ServingConfig;
import dev.streamtune.serving.ServingService;
import dev.streamtune.trainer.TrainerConfig;
import dev.streamtune.trainer.TrainerService;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** One service against a Kafka cluster, as a container runs it; stops on SIGTERM/Ctrl-C. */
final class ServiceCommands {
  private ServiceCommands() {}

  /** Builds (validating its config), starts and runs one service until the process is told to stop. */
  static <S extends AutoCloseable> int serve(String name, Supplier<S> create, Consumer<S> start) throws InterruptedException {
    S service = create.get();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        service.close();
      } catch (Exception e) {
        System.err.println(name + ": error on close: " + e);
      }
      stopped.countDown();
    }, name + "-shutdown"));
    start.accept(service);
    System.out.println(name + " running; Ctrl-C to stop");
    stopped.await();
    return 0;
  }

  @Command(name = "ingest", mixinStandardHelpOptions = true,
      description = "Run the ingest service: validates samples.raw, joins inputs with feedback, HTTP for samples and feedback.")
  static final class Ingest implements Callable<Integer> {
    @Mixin
    Common common;

    @Override
    public Integer call() throws Exception {
      return serve("ingest", () -> new IngestService(IngestConfig.from(common.settings())), IngestService::start);
    }
  }

  @Command(name = "evaluator", mixinStandardHelpOptions = true,
      description = "Run the evaluator: live accuracy and drift from predictions and feedback, and the promotion gate.")
  static final class Evaluator implements Callable<Integer> {
    @Mixin
    Common common;

    @Override
    public Integer call() throws Exception {
      return serve("evaluator", () -> new EvaluatorService(EvaluatorConfig.from(common.settings())), EvaluatorService::start);
    }
  }

  @Command(name = "trainer", mixinStandardHelpOptions = true,
      description = "Run the trainer: fine-tunes the unfrozen top layers on drift and publishes candidates.")
  static final class Trainer implements Callable<Integer> {
    @Mixin
    Common common;

    @Override
    public Integer call() throws Exception {
      return serve("trainer", () -> new TrainerService(TrainerConfig.from(common.settings())), TrainerService::start);
    }
  }

  @Command(name = "serving", mixinStandardHelpOptions = true,
      description = "Run a serving node: POST /predict, micro-batching, hot swap of promoted versions.")
  static final class Serving implements Callable<Integer> {
    @Mixin
    Common common;

    @Override
    public Integer call() throws Exception {
      return serve("serving", () -> new ServingService(ServingConfig.from(common.settings())), ServingService::start);
    }
  }
}
