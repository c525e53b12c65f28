package dev.streamtune.standalone;

import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.Settings;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code streamtune settings}: every key the services read, from the one registry their parsers fill ({@link KnownSettings}),
 * with its type, default and range, and the value in effect from the file, the environment and the flags given here (an
 * unknown key stops it as it stops a service; the services check the values when they start).
 */
@Command(name = "settings", mixinStandardHelpOptions = true,
    description = "List every streamtune.* setting with its type, default, range and the value in effect (file, environment, -s).")
final class SettingsCommand implements Callable<Integer> {
  @Mixin
  Common common;

  @Override
  public Integer call() {
    Settings s = common.settings(); // an unknown key stops here, naming the nearest known one
    System.out.printf(Locale.ROOT, "%-48s %-10s %-28s %-32s %s%n", "key", "type", "default", "range", "in effect");
    for (Map.Entry<String, Settings.Key> e : KnownSettings.registry().entrySet()) {
      Settings.Key k = e.getValue();
      String set = s.string(k.name(), null);
      boolean secret = k.name().equals(CommonConfig.HTTP_TOKEN) || k.name().contains("password");
      System.out.printf(Locale.ROOT, "%-48s %-10s %-28s %-32s %s%n", k.name(), k.type(),
          k.defaultValue() == null ? "none" : String.valueOf(k.defaultValue()), k.range(),
          set == null ? "" : secret ? "(set)" : set);
    }
    s.asMap().keySet().stream().filter(k -> k.startsWith(dev.streamtune.core.kafka.KafkaClients.PREFIX)).forEach(k ->
        System.out.printf(Locale.ROOT, "%-48s %-10s %-28s %-32s %s%n", k, "kafka", "", "client setting", k.contains("password")
            || k.contains("jaas") ? "(set)" : s.string(k, "")));
    return 0;
  }
}
