package dev.streamtune.standalone;

import dev.streamtune.core.config.Settings;
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
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** One service against a Kafka cluster, as a container runs it; stops on SIGTERM/Ctrl-C. */
final class ServiceCommands {
  private ServiceCommands() {}

  static int runUntilStopped(String name, Settings settings, Function<Settings, AutoCloseable> factory,
      java.util.function.Consumer<AutoCloseable> starter) throws Exception {
    AutoCloseable service = factory.apply(settings);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        service.close();
      } catch (Exception e) {
        System.err.println(name + ": error on close: " + e);
      }
      stopped.countDown();
    }, name + "-shutdown"));
    starter.accept(service);
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
      IngestConfig cfg = IngestConfig.from(common.settings());
      return runUntilStopped("ingest", common.settings(), s -> new IngestService(cfg), s -> ((IngestService) s).start());
    }
  }

  @Command(name = "evaluator", mixinStandardHelpOptions = true,
      description = "Run the evaluator: live accuracy and drift from predictions and feedback, and the promotion gate.")
  static final class Evaluator implements Callable<Integer> {
    @Mixin
    Common common;

    @Override
    public Integer call() throws Exception {
      EvaluatorConfig cfg = EvaluatorConfig.from(common.settings());
      return runUntilStopped("evaluator", common.settings(), s -> new EvaluatorService(cfg),
          s -> ((EvaluatorService) s).start());
    }
  }

  @Command(name = "trainer", mixinStandardHelpOptions = true,
      description = "Run the trainer: fine-tunes the unfrozen top layers on drift and publishes candidates.")
  static final class Trainer implements Callable<Integer> {
    @Mixin
    Common common;

    @Override
    public Integer call() throws Exception {
      TrainerConfig cfg = TrainerConfig.from(common.settings());
      return runUntilStopped("trainer", common.settings(), s -> new TrainerService(cfg), s -> ((TrainerService) s).start());
    }
  }

  @Command(name = "serving", mixinStandardHelpOptions = true,
      description = "Run a serving node: POST /predict, micro-batching, hot swap of promoted versions.")
  static final class Serving implements Callable<Integer> {
    @Mixin
    Common common;

    @Override
    public Integer call() throws Exception {
      ServingConfig cfg = ServingConfig.from(common.settings());
      return runUntilStopped("serving", common.settings(), s -> new ServingService(cfg), s -> ((ServingService) s).start());
    }
  }
}
