package dev.streamtune.standalone;

import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.model.Dl4jRuntime;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code streamtune <command>}: the one launcher for the demo, the services, the broker and the tools. */
@Command(name = "streamtune", mixinStandardHelpOptions = true, version = "StreamTune 0.1.0",
    description = "Keeps an image classifier right while its domain shifts: drift detection, transfer-learning fine-tune, "
        + "gated promotion and hot-swap serving on Apache Kafka.",
    subcommands = {DemoCommand.class, PretrainCommand.class, ServiceCommands.Ingest.class, ServiceCommands.Evaluator.class,
        ServiceCommands.Trainer.class, ServiceCommands.Serving.class, BrokerCommand.class, SettingsCommand.class, LoadCommand.class, ModelsCommand.class, dev.streamtune.standalone.bench.BenchCommand.class,
        dev.streamtune.standalone.eval.EvalCommand.class,
        CommandLine.HelpCommand.class})
public final class StreamTuneCli implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "name a command, e.g. 'streamtune demo' (see --help)");
  }

  public static void main(String[] args) {
    System.exit(execute(args));
  }

  /** Runs a command line and returns the exit code; one clear line on bad input. */
  public static int execute(String... args) {
    Dl4jRuntime.enableHelpers();
    CommandLine cl = new CommandLine(new StreamTuneCli());
    cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
      Throwable t = e;
      if (t instanceof ConfigException || t instanceof IllegalArgumentException || t instanceof IllegalStateException) {
        cmd.getErr().println("streamtune " + cmd.getCommandName() + ": " + t.getMessage());
        return 2;
      }
      cmd.getErr().println("streamtune " + cmd.getCommandName() + " failed: " + t);
      t.printStackTrace(cmd.getErr());
      return 1;
    });
    return cl.execute(args);
  }
}
