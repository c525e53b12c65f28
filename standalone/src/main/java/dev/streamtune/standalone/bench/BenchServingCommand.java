package dev.streamtune.standalone.bench;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Serving throughput and latency against raw DL4J {@code output()} on the same model, side by side in one run. */
@Command(name = "serving", mixinStandardHelpOptions = true,
    description = "Serving throughput and latency against raw DL4J output() on the same model and inputs.")
public final class BenchServingCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    System.err.println("bench serving: not built yet");
    return 1;
  }
}
