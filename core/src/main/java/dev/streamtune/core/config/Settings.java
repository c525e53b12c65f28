package dev.streamtune.core.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * Configuration as flat {@code streamtune.*} keys, layered defaults ← file ← environment ← command line. Typed getters validate
 * and throw {@link ConfigException} naming the key and the bad value. Immutable and thread-safe.
 *
 * <p>Environment variables map by upper-casing and replacing '.' and '-' with '_': {@code streamtune.serving.port} is
 * {@code STREAMTUNE_SERVING_PORT}.
 */
public final class Settings {
  private final Map<String, String> values;
  /** Keys that came from {@code STREAMTUNE_*} environment variables (a shared environment may hold other programs' too). */
  private final java.util.Set<String> fromEnvironment;
  /** Every key a getter asked for, when this is a {@link #recorder()}; else null. */
  private final java.util.Set<String> asked;
  /** What each getter asked for (type, default, range), when this is a {@link #recorder()}; else null. */
  private final Map<String, Key> keys;

  /**
   * A setting as a parser reads it: its type ({@code string}, {@code integer}, {@code decimal}, {@code boolean},
   * {@code duration}, {@code path} or {@code one of [..]}), its default (null: none) and its range (empty: any).
   */
  public record Key(String name, String type, Object defaultValue, String range) {}

  private Settings(Map<String, String> values) {
    this(values, java.util.Set.of(), null);
  }

  private Settings(Map<String, String> values, java.util.Set<String> fromEnvironment, java.util.Set<String> asked) {
    this.values = Collections.unmodifiableMap(new TreeMap<>(values));
    this.fromEnvironment = java.util.Set.copyOf(fromEnvironment);
    this.asked = asked;
    this.keys = asked == null ? null : new java.util.concurrent.ConcurrentHashMap<>();
  }

  /**
   * Empty settings that remember every key a getter asks for ({@link #asked()}): run the config parsers on it to learn the keys
   * they know, with their defaults. Not for services.
   */
  public static Settings recorder() {
    return new Settings(Map.of(), java.util.Set.of(), java.util.concurrent.ConcurrentHashMap.newKeySet());
  }

  /** The keys asked for so far, for a {@link #recorder()}; empty otherwise. */
  public java.util.Set<String> asked() {
    return asked == null ? java.util.Set.of() : java.util.Set.copyOf(asked);
  }

  /** The keys asked for so far with their type, default and range, by name, for a {@link #recorder()}; empty otherwise. */
  public Map<String, Key> keys() {
    return keys == null ? Map.of() : Map.copyOf(keys);
  }

  private void note(String key, String type, Object def, String range) {
    if (keys != null) {
      keys.putIfAbsent(key, new Key(key, type, def, range));
    }
  }

  /** Whether {@code key} came from an environment variable (and no file or flag set it after). */
  public boolean fromEnvironment(String key) {
    return fromEnvironment.contains(key);
  }

  public static Settings of(Map<String, String> values) {
    return new Settings(values);
  }

  public static Settings empty() {
    return new Settings(Map.of());
  }

  /**
   * Loads settings: the optional properties file, then {@code STREAMTUNE_*} environment variables, then the overrides (e.g. CLI
   * flags). Later layers win.
   */
  public static Settings load(Path file, Map<String, String> env, Map<String, String> overrides) {
    Map<String, String> merged = new LinkedHashMap<>();
    if (file != null) {
      if (!Files.isRegularFile(file)) {
        throw new ConfigException("--config", file.toString(), "no such file");
      }
      Properties p = new Properties();
      try (Reader r = Files.newBufferedReader(file)) {
        p.load(r);
      } catch (IOException e) {
        throw new ConfigException("--config", file.toString(), "cannot read: " + e.getMessage());
      }
      p.stringPropertyNames().forEach(k -> merged.put(k.trim(), p.getProperty(k).trim()));
    }
    java.util.Set<String> fromEnv = new java.util.HashSet<>();
    env.forEach((k, v) -> {
      if (k.startsWith("STREAMTUNE_")) {
        String key = k.toLowerCase(Locale.ROOT).replace('_', '.');
        merged.put(key, v);
        fromEnv.add(key);
      }
    });
    merged.putAll(overrides);
    fromEnv.removeAll(overrides.keySet());
    return new Settings(merged, fromEnv, null);
  }

  /** A copy with more values, which win over these. */
  public Settings with(Map<String, String> more) {
    Map<String, String> m = new LinkedHashMap<>(values);
    m.putAll(more);
    java.util.Set<String> env = new java.util.HashSet<>(fromEnvironment);
    env.removeAll(more.keySet());
    return new Settings(m, env, asked);
  }

  public Settings with(String key, String value) {
    return with(Map.of(key, value));
  }

  public Map<String, String> asMap() {
    return values;
  }

  /** A string value; keys match with '-' and '.' equivalent so env vars reach dashed keys. */
  public String string(String key, String def) {
    note(key, "string", def, "");
    String v = raw(key);
    return v == null || v.isBlank() ? def : v.trim();
  }

  public String required(String key) {
    note(key, "string", null, "required");
    String v = raw(key);
    if (v == null || v.isBlank()) {
      throw new ConfigException(key, null, "required");
    }
    return v.trim();
  }

  private String raw(String key) {
    if (asked != null) {
      asked.add(key);
    }
    String v = values.get(key);
    if (v == null) {
      v = values.get(key.replace('-', '.'));
    }
    return v;
  }

  public int integer(String key, int def, int min, int max) {
    note(key, "integer", def, min + " .. " + max);
    String v = raw(key);
    if (v == null || v.isBlank()) {
      return def;
    }
    try {
      int i = Integer.parseInt(v.trim());
      if (i < min || i > max) {
        throw new ConfigException(key, v, "must be between " + min + " and " + max);
      }
      return i;
    } catch (NumberFormatException e) {
      throw new ConfigException(key, v, "not an integer");
    }
  }

  public double decimal(String key, double def, double min, double max) {
    note(key, "decimal", def, min + " .. " + max);
    String v = raw(key);
    if (v == null || v.isBlank()) {
      return def;
    }
    try {
      double d = Double.parseDouble(v.trim());
      if (!(d >= min && d <= max)) {
        throw new ConfigException(key, v, "must be between " + min + " and " + max);
      }
      return d;
    } catch (NumberFormatException e) {
      throw new ConfigException(key, v, "not a number");
    }
  }

  public boolean bool(String key, boolean def) {
    note(key, "boolean", def, "");
    String v = raw(key);
    if (v == null || v.isBlank()) {
      return def;
    }
    return switch (v.trim().toLowerCase(Locale.ROOT)) {
      case "true", "yes", "on", "1" -> true;
      case "false", "no", "off", "0" -> false;
      default -> throw new ConfigException(key, v, "not a boolean (true/false)");
    };
  }

  /** A duration as ISO-8601 ({@code PT5S}) or a number with a unit: {@code 250ms}, {@code 5s}, {@code 2m}, {@code 1h}. */
  public Duration duration(String key, Duration def) {
    note(key, "duration", def, ">= 0");
    String v = raw(key);
    if (v == null || v.isBlank()) {
      return def;
    }
    String s = v.trim().toLowerCase(Locale.ROOT);
    try {
      Duration d;
      if (s.startsWith("pt") || s.startsWith("p")) {
        d = Duration.parse(s.toUpperCase(Locale.ROOT));
      } else if (s.endsWith("ms")) {
        d = Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
      } else if (s.endsWith("s")) {
        d = Duration.ofMillis(Math.round(Double.parseDouble(s.substring(0, s.length() - 1)) * 1000));
      } else if (s.endsWith("m")) {
        d = Duration.ofSeconds(Math.round(Double.parseDouble(s.substring(0, s.length() - 1)) * 60));
      } else if (s.endsWith("h")) {
        d = Duration.ofSeconds(Math.round(Double.parseDouble(s.substring(0, s.length() - 1)) * 3600));
      } else {
        throw new ConfigException(key, v, "not a duration (use e.g. 250ms, 5s, 2m, 1h or PT5S)");
      }
      if (d.isNegative()) {
        throw new ConfigException(key, v, "must not be negative");
      }
      return d;
    } catch (NumberFormatException | DateTimeParseException e) {
      throw new ConfigException(key, v, "not a duration (use e.g. 250ms, 5s, 2m, 1h or PT5S)");
    }
  }

  private static final java.util.regex.Pattern SIZE = java.util.regex.Pattern.compile("(\\d+)\\s*([kmgt]i?b|b)?");

  /**
   * A size in bytes: digits and an optional unit, {@code B}, {@code KB}/{@code MB}/{@code GB}/{@code TB} (powers of 1000) or
   * {@code KiB}/{@code MiB}/{@code GiB}/{@code TiB} (powers of 1024), case-insensitive, within {@code [min, max]}.
   */
  public long size(String key, long def, long min, long max) {
    note(key, "size", def, min + " .. " + max + " bytes");
    String v = raw(key);
    if (v == null || v.isBlank()) {
      return def;
    }
    java.util.regex.Matcher m = SIZE.matcher(v.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new ConfigException(key, v, "not a size (use e.g. 65536, 512KiB, 1MiB, 2GB)");
    }
    long factor = switch (m.group(2) == null ? "b" : m.group(2)) {
      case "kb" -> 1_000L;
      case "mb" -> 1_000_000L;
      case "gb" -> 1_000_000_000L;
      case "tb" -> 1_000_000_000_000L;
      case "kib" -> 1L << 10;
      case "mib" -> 1L << 20;
      case "gib" -> 1L << 30;
      case "tib" -> 1L << 40;
      default -> 1L;
    };
    long bytes;
    try {
      bytes = Math.multiplyExact(Long.parseLong(m.group(1)), factor);
    } catch (NumberFormatException | ArithmeticException e) {
      throw new ConfigException(key, v, "too large (at most " + max + " bytes)");
    }
    if (bytes < min) {
      throw new ConfigException(key, v, "must be at least " + min + " bytes");
    }
    if (bytes > max) {
      throw new ConfigException(key, v, "must be at most " + max + " bytes");
    }
    return bytes;
  }

  public Path path(String key, Path def) {
    note(key, "path", def, "");
    String v = raw(key);
    return v == null || v.isBlank() ? def : Path.of(v.trim());
  }

  /** One of the allowed values (case-insensitive), returned in lower case. */
  public String oneOf(String key, String def, List<String> allowed) {
    note(key, "one of", def, String.join(", ", allowed));
    String v = string(key, def).toLowerCase(Locale.ROOT);
    if (!allowed.contains(v)) {
      throw new ConfigException(key, v, "must be one of " + allowed);
    }
    return v;
  }
}
