package dev.streamtune.standalone.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code streamtune bench …}: benchmarks that measure two ways of doing one thing side by side in one run. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks, measured side by side in one run.",
    subcommands = {BenchTrainingCommand.class, BenchServingCommand.class, BenchIngestCommand.class,
        BenchDriftCommand.class})
public final class BenchCommand implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "name a benchmark: training, serving, ingest or drift");
  }
}
