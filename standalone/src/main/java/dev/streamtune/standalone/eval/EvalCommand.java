package dev.streamtune.standalone.eval;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code streamtune eval}: the reproducible evaluation of adaptation scenarios, written to docs/evaluation.md. */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = "Run the adaptation scenarios through the learning code and write the evaluation table and report.")
public final class EvalCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    System.err.println("eval: not built yet");
    return 1;
  }
}
