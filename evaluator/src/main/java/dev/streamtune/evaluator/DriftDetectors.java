package dev.streamtune.evaluator;

import dev.streamtune.core.learn.Adwin;
import dev.streamtune.core.learn.Ddm;
import dev.streamtune.core.learn.PageHinkley;
import java.util.List;
import java.util.Objects;

/**
 * The supervised drift detectors run on each model version's 0/1 error stream ({@code streamtune.evaluator.drift.detectors}),
 * in the order named, each with its parameters. Immutable.
 *
 * @param names the detectors in use, a non-empty subset of {@link #KNOWN} without repeats
 */
public record DriftDetectors(List<String> names, PageHinkley pageHinkley, Ddm ddm, Adwin adwin) {
  /** The detector names the evaluator knows. */
  public static final List<String> KNOWN = List.of(PageHinkley.NAME, Ddm.NAME, Adwin.NAME);

  public DriftDetectors {
    names = List.copyOf(names);
    if (names.isEmpty() || !KNOWN.containsAll(names) || names.stream().distinct().count() != names.size()) {
      throw new IllegalArgumentException("detectors must be a non-empty list of distinct names from " + KNOWN + ", was " + names);
    }
    Objects.requireNonNull(pageHinkley, "pageHinkley");
    Objects.requireNonNull(ddm, "ddm");
    Objects.requireNonNull(adwin, "adwin");
  }

  /** Page-Hinkley alone, with the default DDM and ADWIN parameters unused. */
  public static DriftDetectors pageHinkleyOnly(PageHinkley ph) {
    return new DriftDetectors(List.of(PageHinkley.NAME), ph, Ddm.defaults(), Adwin.defaults());
  }

  public boolean uses(String name) {
    return names.contains(name);
  }
}
