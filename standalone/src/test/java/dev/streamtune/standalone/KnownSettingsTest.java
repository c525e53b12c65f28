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
}
