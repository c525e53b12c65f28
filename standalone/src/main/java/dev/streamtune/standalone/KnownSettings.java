package dev.streamtune.standalone;

import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.kafka.KafkaClients;
import dev.streamtune.evaluator.EvaluatorConfig;
import dev.streamtune.ingest.IngestConfig;
import dev.streamtune.serving.ServingConfig;
import dev.streamtune.trainer.TrainerConfig;
import java.util.Comparator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The {@code streamtune.*} keys StreamTune knows: the ones its config parsers ask for (learnt by running every parser on a
 * {@link Settings#recorder()}, so a new setting needs no second list), plus the few read outside them, and any Kafka client
 * setting under {@code streamtune.kafka.} (passed through as it is). A key nobody reads is a
 * typo that would otherwise be ignored in silence: from a file or a flag it stops start-up, naming the nearest known key; from
 * the environment (which other programs share) it is a warning.
 */
final class KnownSettings {
  /** Read outside the config parsers: by logback ({@code STREAMTUNE_LOG_LEVEL}) and the launcher ({@code STREAMTUNE_JAVA_OPTS}). */
  static final Set<String> OUTSIDE = Set.of("streamtune.log.level", "streamtune.java.opts");
  private static final Map<String, Settings.Key> REGISTRY = new java.util.TreeMap<>();
  private static final Set<String> KNOWN = learn();

  private KnownSettings() {}

  private static Set<String> learn() {
    Settings r = Settings.recorder();
    CommonConfig.from(r);
    IngestConfig.from(r);
    EvaluatorConfig.from(r);
    TrainerConfig.from(r);
    ServingConfig.from(r);
    REGISTRY.putAll(r.keys());
    Set<String> out = new TreeSet<>(r.asked());
    out.addAll(OUTSIDE);
    return out;
  }

  /** The keys the config parsers read, with the type, default and range each parser gave, by name. */
  static Map<String, Settings.Key> registry() {
    return java.util.Collections.unmodifiableMap(REGISTRY);
  }

  /** Every known key. */
  static Set<String> keys() {
    return KNOWN;
  }

  /**
   * Checks every {@code streamtune.*} key of {@code s}.
   *
   * @throws ConfigException naming the first unknown key from a file or a flag and the nearest known one
   */
  static void check(Settings s, Consumer<String> warn) {
    for (Map.Entry<String, String> e : s.asMap().entrySet()) {
      String key = e.getKey();
      if (!key.startsWith("streamtune.") || known(key) || key.startsWith(KafkaClients.PREFIX)) {
        continue;
      }
      String hint = "unknown setting; did you mean " + nearest(key) + "? (docs/configuration.md lists every setting)";
      if (s.fromEnvironment(key)) {
        warn.accept("ignoring " + key.toUpperCase(Locale.ROOT).replace('.', '_') + " from the environment: " + hint);
      } else {
        throw new ConfigException(key, e.getValue(), hint);
      }
    }
  }

  private static boolean known(String key) {
    String k = normal(key);
    return KNOWN.stream().anyMatch(x -> normal(x).equals(k));
  }

  /** '-' and '.' are one character to a key (an environment variable cannot tell them apart). */
  private static String normal(String key) {
    return key.replace('-', '.');
  }

  static String nearest(String key) {
    return KNOWN.stream().min(Comparator.comparingInt((String k) -> distance(normal(k), normal(key))).thenComparing(k -> k))
        .orElseThrow();
  }

  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
