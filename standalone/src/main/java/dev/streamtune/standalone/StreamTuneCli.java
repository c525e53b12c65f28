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

  /** A service's --help footer: its own settings from the one registry, with their defaults, and an example. */
  static String settingsFooter(String service) {
    StringBuilder b = new StringBuilder("%nSettings of " + service + " (-s KEY=VALUE, or STREAMTUNE_" + service.toUpperCase(
        java.util.Locale.ROOT) + "_... variables;%nthe shared ones: streamtune settings), with their defaults:%n");
    String prefix = "streamtune." + service + ".";
    String example = null;
    for (var k : KnownSettings.registry().values()) {
      if (k.name().startsWith(prefix)) {
        String def = k.defaultValue() == null ? "none" : String.valueOf(k.defaultValue());
        b.append(String.format(java.util.Locale.ROOT, "  %-38s %-8s %s%n", k.name(), k.type(), def)
            .replace("%", "%%").replace(System.lineSeparator(), "%n"));
        if (k.name().equals(prefix + "port")) {
          example = k.name() + "=" + def;
        }
      }
    }
    if (example != null) {
      b.append("%nExample:%n  streamtune ").append(service).append(" --bootstrap localhost:9092 --store streamtune-work/store \\%n")
          .append("      -s ").append(example).append("%n");
    }
    return b.toString();
  }

  /** Runs a command line and returns the exit code; one clear line on bad input. */
  public static int execute(String... args) {
    Dl4jRuntime.enableHelpers();
    CommandLine cl = new CommandLine(new StreamTuneCli());
    for (String service : new String[] {"ingest", "evaluator", "trainer", "serving"}) {
      cl.getSubcommands().get(service).getCommandSpec().usageMessage().footer(settingsFooter(service));
    }
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
