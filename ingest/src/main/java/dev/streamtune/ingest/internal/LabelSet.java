package dev.streamtune.ingest.internal;

import dev.streamtune.core.records.FeedbackRule;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The model's label set. A label is given by its name ({@code "Coat"}) or by its class index as a decimal ({@code "4"}), which
 * maps to the name. Names match exactly.
 *
 * <p>When new labels are allowed, a well-formed name that the model does not know yet (letters, digits, space, {@code _ . -},
 * 1-64 characters, not only digits) is accepted as a new class, up to {@code maxNew} distinct new names per process — a
 * bound so that a stream of typos cannot grow the head without limit; the trainer appends new labels to the model's label set
 * in first-seen order. A decimal is always an index: an index out of range stays unknown. Thread-safe.
 */
public final class LabelSet {
  /** What a new label name may look like. */
  public static final Pattern NEW_LABEL = Pattern.compile("(?=.*[^0-9])[\\p{L}\\p{N} _.-]{1,64}");

  private final List<String> labels;
  private final boolean allowNew;
  private final int maxNew;
  private final Set<String> seenNew = ConcurrentHashMap.newKeySet();

  /** A closed label set: only the given labels are valid. */
  public LabelSet(List<String> labels) {
    this(labels, false, 0);
  }

  /**
   * A label set that, when {@code allowNew}, also accepts up to {@code maxNew} distinct well-formed new names.
   *
   * @throws IllegalArgumentException when {@code labels} is empty or {@code maxNew} is negative
   */
  public LabelSet(List<String> labels, boolean allowNew, int maxNew) {
    Objects.requireNonNull(labels, "labels");
    if (labels.isEmpty()) {
      throw new IllegalArgumentException("the label set must not be empty");
    }
    if (maxNew < 0) {
      throw new IllegalArgumentException("maxNew must not be negative: " + maxNew);
    }
    this.labels = List.copyOf(labels);
    this.allowNew = allowNew;
    this.maxNew = maxNew;
  }

  public List<String> labels() {
    return labels;
  }

  /** Whether names the model does not know yet are accepted. */
  public boolean allowsNew() {
    return allowNew;
  }

  /** The label name for a name or a class index (or an accepted new name); empty when it is none of them. */
  public Optional<String> resolve(String raw) {
    if (raw == null) {
      return Optional.empty();
    }
    String s = raw.trim();
    Optional<String> known = FeedbackRule.name(s, labels);
    if (known.isPresent() || s.matches("\\d{1,9}")) {
      return known;
    }
    if (allowNew && NEW_LABEL.matcher(s).matches() && admitNew(s)) {
      return Optional.of(s);
    }
    return Optional.empty();
  }

  /** Whether {@code label} (as resolved) is one the model does not know yet. */
  public boolean isNew(String label) {
    return !labels.contains(label);
  }

  private boolean admitNew(String name) {
    if (seenNew.contains(name)) {
      return true;
    }
    synchronized (seenNew) {
      if (seenNew.size() >= maxNew) {
        return seenNew.contains(name);
      }
      seenNew.add(name);
      return true;
    }
  }

  /** What a valid label looks like, for messages: the names and the index range (and the new-label rule when allowed). */
  public String describe() {
    String known = "one of " + labels + " or a class index 0-" + (labels.size() - 1);
    if (!allowNew) {
      return known;
    }
    return known + ", or a new label name (letters, digits, space, '_', '.', '-'; 1-64 characters; at most " + maxNew
        + " new names, " + seenNew.size() + " seen)";
  }
}
