package dev.streamtune.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.config.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class KnownSettingsTest {
  @Test
  void shouldStopAtAnUnknownKeyFromAFlagNamingTheNearestAndOnlyWarnForTheEnvironment() {
    assertThatThrownBy(() -> KnownSettings.check(Settings.load(null, Map.of(), Map.of("streamtune.trainer.min-new-sample", "5")),
        line -> { })).isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.trainer.min-new-sample")
        .hasMessageContaining("did you mean streamtune.trainer.min-new-samples?");
    List<String> warnings = new ArrayList<>();
    KnownSettings.check(Settings.load(null, Map.of("STREAMTUNE_SERVING_PROT", "1", "STREAMTUNE_SERVING_BATCH_MAX", "8",
        "STREAMTUNE_LOG_LEVEL", "DEBUG"), Map.of("streamtune.serving.port", "0")), warnings::add);
    assertThat(warnings).singleElement().asString().contains("STREAMTUNE_SERVING_PROT").contains("streamtune.serving.port");
    KnownSettings.check(Settings.load(null, Map.of(), Map.of("streamtune.kafka.security.protocol", "SASL_SSL")), line -> {
      throw new AssertionError(line);
    });
  }

  /** docs/configuration.md and the parsers know the same keys (a row's "`a.b.c` / `.d`" names a.b.c and a.b.d). */
  @Test
  void shouldDocumentEveryKeyThePartsReadAndNoOther() throws Exception {
    String md = Files.readString(Path.of("..", "docs", "configuration.md"));
    Set<String> documented = new TreeSet<>();
    Pattern row = Pattern.compile("^\\| `(streamtune\\.[a-z0-9.-]+)`((?: / `\\.[a-z0-9.-]+`)*)", Pattern.MULTILINE);
    Matcher m = row.matcher(md);
    while (m.find()) {
      String first = m.group(1);
      documented.add(first);
      Matcher more = Pattern.compile("`\\.([a-z0-9.-]+)`").matcher(m.group(2));
      while (more.find()) {
        String[] base = first.split("\\.");
        String[] tail = more.group(1).split("\\.");
        documented.add(String.join(".", java.util.Arrays.copyOf(base, base.length - tail.length)) + "." + more.group(1));
      }
    }
    Set<String> known = new TreeSet<>(KnownSettings.keys());
    known.removeAll(KnownSettings.OUTSIDE);
    assertThat(known).contains("streamtune.serving.port", "streamtune.trainer.max-attempts", "streamtune.http.token")
        .hasSizeGreaterThan(40);
    Set<String> undocumented = new TreeSet<>(known);
    undocumented.removeAll(documented);
    Set<String> unknown = new TreeSet<>(documented);
    unknown.removeAll(known);
    assertThat(undocumented).as("read by a parser, missing from docs/configuration.md").isEmpty();
    assertThat(unknown).as("in docs/configuration.md, read by no parser").isEmpty();
  }

  /**
   * Each default docs/configuration.md gives is the one the parser applies: a documented value is parsed as the setting's type
   * and compared with the registry's default ("none" for a setting without one; prose for a computed default is left alone).
   */
  @Test
  void shouldDocumentTheDefaultEachParserApplies() throws Exception {
    String md = Files.readString(Path.of("..", "docs", "configuration.md"));
    Pattern row = Pattern.compile("^\\| `(streamtune\\.[a-z0-9.-]+)`((?: / `\\.[a-z0-9.-]+`)*) \\| ([^|]*) \\|", Pattern.MULTILINE);
    Matcher m = row.matcher(md);
    List<String> wrong = new ArrayList<>();
    int checked = 0;
    while (m.find()) {
      List<String> keys = new ArrayList<>(List.of(m.group(1)));
      Matcher more = Pattern.compile("`\\.([a-z0-9.-]+)`").matcher(m.group(2));
      while (more.find()) {
        String[] base = m.group(1).split("\\.");
        String[] tail = more.group(1).split("\\.");
        keys.add(String.join(".", java.util.Arrays.copyOf(base, base.length - tail.length)) + "." + more.group(1));
      }
      String[] cells = m.group(3).trim().split(" / ");
      for (int i = 0; i < keys.size(); i++) {
        Settings.Key key = KnownSettings.registry().get(keys.get(i));
        String cell = cells[Math.min(i, cells.length - 1)].trim();
        if (key == null || !(cell.matches("`[^`]*`") || cell.equals("none"))) {
          continue;
        }
        checked++;
        String doc = cell.equals("none") ? null : cell.substring(1, cell.length() - 1);
        Object documented;
        try {
          documented = parse(key, doc);
        } catch (RuntimeException e) {
          documented = "unreadable as " + key.type() + " (" + e.getMessage() + ")";
        }
        if (!Objects.equals(documented, key.defaultValue())) {
          wrong.add(key.name() + ": docs say " + cell + ", the parser's default is " + key.defaultValue());
        }
      }
    }
    assertThat(checked).as("defaults checked").isGreaterThan(40);
    assertThat(wrong).as("defaults in docs/configuration.md that differ from the code").isEmpty();
  }

  /** An integer, or a size in KiB, MiB or GiB as the docs write byte counts. */
  private static int bytes(String doc) {
    for (String[] unit : new String[][] {{"KiB", "1024"}, {"MiB", "1048576"}, {"GiB", "1073741824"}}) {
      if (doc.endsWith(unit[0])) {
        return Integer.parseInt(doc.substring(0, doc.length() - 3).trim()) * Integer.parseInt(unit[1]);
      }
    }
    return Integer.parseInt(doc);
  }

  private static Object parse(Settings.Key key, String doc) {
    if (doc == null) {
      return null;
    }
    Settings one = Settings.of(Map.of(key.name(), doc));
    return switch (key.type()) {
      case "integer" -> bytes(doc.replace(",", ""));
      case "decimal" -> Double.parseDouble(doc.replace(",", ""));
      case "boolean" -> one.bool(key.name(), false);
      case "duration" -> one.duration(key.name(), null);
      case "path" -> Path.of(doc);
      case "size" -> one.size(key.name(), 0, 0, Long.MAX_VALUE);
      default -> doc;
    };
  }
}
