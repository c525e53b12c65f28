package dev.streamtune.standalone;

import dev.streamtune.core.config.Settings;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** Options every service command shares: the broker, a config file and single settings. */
final class Common {
  @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "Kafka bootstrap servers (streamtune.bootstrap)")
  String bootstrap;

  @Option(names = "--store", paramLabel = "DIR", description = "model store directory (streamtune.store.dir)")
  Path store;

  @Option(names = "--config", paramLabel = "FILE", description = "a .properties file of streamtune.* settings")
  Path config;

  @Option(names = {"-s", "--set"}, paramLabel = "KEY=VALUE", description = "one setting KEY=VALUE (the list below, or streamtune settings)")
  Map<String, String> set = new LinkedHashMap<>();

  /**
   * Settings from the file, the environment and the flags, in that order.
   *
   * @throws dev.streamtune.core.config.ConfigException for an unknown {@code streamtune.*} key from the file or a flag
   */
  Settings settings() {
    Map<String, String> flags = new LinkedHashMap<>(set);
    if (bootstrap != null) {
      flags.put("streamtune.bootstrap", bootstrap);
    }
    if (store != null) {
      flags.put("streamtune.store.dir", store.toString());
    }
    Settings s = Settings.load(config, System.getenv(), flags);
    KnownSettings.check(s, line -> org.slf4j.LoggerFactory.getLogger(Common.class).warn(line));
    return s;
  }
}
