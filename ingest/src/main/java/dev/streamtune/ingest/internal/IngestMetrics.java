package dev.streamtune.ingest.internal;

import dev.streamtune.core.kafka.RejectedRecords;
import dev.streamtune.core.kafka.StreamsErrorHandlers;
import dev.streamtune.core.kafka.Topics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * The ingest meters, bound in one place with bounded tags only (never an id or a user's label):
 * <ul>
 *   <li>{@code streamtune.ingest.samples.accepted{source}}: samples written to {@code samples}; {@code source} is one of
 *       {@link #KNOWN_SOURCES} or {@code other}
 *   <li>{@code streamtune.ingest.samples.rejected{reason}}: records of {@code samples.raw} sent to {@code samples.rejected}
 *   <li>{@code streamtune.ingest.feedback.rejected{reason}}, {@code streamtune.ingest.inputs.rejected{reason}}: records sent to
 *       {@code records.rejected}, also counted as core's {@code streamtune.records.rejected{topic}}
 *   <li>{@code streamtune.ingest.feedback.repeated}: feedback records that repeat a prediction's first label (a resent
 *       request), not joined again; a different label for a labelled prediction is rejected with reason {@code relabelled}
 *   <li>{@code streamtune.ingest.http.accepted{kind}} and {@code streamtune.ingest.http.rejected{kind,reason}} for
 *       {@code POST /samples} ({@code kind=sample}) and {@code POST /feedback} ({@code kind=feedback})
 *   <li>{@code streamtune.stream.errors{service=ingest,kind}}: records that Kafka Streams could not deserialize, process or
 *       produce, counted by core's {@link StreamsErrorHandlers} (one name for every Streams app)
 * </ul>
 * Counters are registered up front so that dashboards see zeros. Thread-safe.
 */
public final class IngestMetrics implements MeterBinder {
  /** Sources that get their own tag value; any other {@code st-source} counts as {@code other}. */
  public static final Set<String> KNOWN_SOURCES = Set.of("http", "loader", "labelling", "feedback", "demo", "unknown");
  public static final String OTHER_SOURCE = "other";
  /** Feedback records that repeat a prediction's first label. */
  public static final String FEEDBACK_REPEATED = "streamtune.ingest.feedback.repeated";
  public static final String SAMPLES_ACCEPTED = "streamtune.ingest.samples.accepted";
  public static final String SAMPLES_REJECTED = "streamtune.ingest.samples.rejected";
  public static final String FEEDBACK_REJECTED = "streamtune.ingest.feedback.rejected";
  public static final String INPUTS_REJECTED = "streamtune.ingest.inputs.rejected";
  public static final String HTTP_ACCEPTED = "streamtune.ingest.http.accepted";
  public static final String HTTP_REJECTED = "streamtune.ingest.http.rejected";

  private final MeterRegistry registry;
  private final Topics topics;

  /** Binds every ingest meter to {@code registry} at 0 ({@link #bindTo}). */
  public IngestMetrics(MeterRegistry registry, Topics topics) {
    this.registry = Objects.requireNonNull(registry, "registry");
    this.topics = Objects.requireNonNull(topics, "topics");
    bindTo(registry);
  }

  /** Registers every counter at 0 for each known label value; idempotent (a meter is registered once per name and tags). */
  @Override
  public void bindTo(MeterRegistry registry) {
    KNOWN_SOURCES.forEach(s -> accepted(s));
    accepted(OTHER_SOURCE);
    for (SampleValidator.Reason r : SampleValidator.Reason.values()) {
      rejected(SAMPLES_REJECTED, r);
      registry.counter(HTTP_REJECTED, "kind", "sample", "reason", r.tag());
    }
    for (FeedbackValidator.Reason r : FeedbackValidator.Reason.values()) {
      rejected(FEEDBACK_REJECTED, r);
      if (r != FeedbackValidator.Reason.RELABELLED) {
        registry.counter(HTTP_REJECTED, "kind", "feedback", "reason", r.tag());
        registry.counter(HTTP_REJECTED, "kind", "label-studio", "reason", r.tag());
      }
    }
    registry.counter(FEEDBACK_REPEATED);
    for (InputsProcessor.Reason r : InputsProcessor.Reason.values()) {
      rejected(INPUTS_REJECTED, r);
    }
    registry.counter(RejectedRecords.REJECTED, "topic", topics.feedback.name());
    registry.counter(RejectedRecords.REJECTED, "topic", topics.inputs.name());
    registry.counter(HTTP_ACCEPTED, "kind", "sample");
    registry.counter(HTTP_ACCEPTED, "kind", "feedback");
    registry.counter(HTTP_ACCEPTED, "kind", "label-studio");
    for (String kind : StreamsErrorHandlers.KINDS) {
      // once, under core's name: streamtune.stream.errors{service=ingest,kind} (an ingest-named copy was exported twice)
      registry.counter(StreamsErrorHandlers.ERRORS_METER, "service", IngestStreamsConfig.SERVICE, "kind", kind);
    }
  }

  /** The tag value for a sample source: itself when known, else {@code other}. */
  public static String sourceTag(String source) {
    String s = source == null ? "unknown" : source.toLowerCase(Locale.ROOT);
    return KNOWN_SOURCES.contains(s) ? s : OTHER_SOURCE;
  }

  public void sampleAccepted(String source) {
    accepted(sourceTag(source)).increment();
  }

  public void sampleRejected(RejectReason reason) {
    rejected(SAMPLES_REJECTED, reason).increment();
  }

  public void feedbackRejected(RejectReason reason) {
    rejected(FEEDBACK_REJECTED, reason).increment();
    registry.counter(RejectedRecords.REJECTED, "topic", topics.feedback.name()).increment();
  }

  public void feedbackRepeated() {
    registry.counter(FEEDBACK_REPEATED).increment();
  }

  public void inputRejected(RejectReason reason) {
    rejected(INPUTS_REJECTED, reason).increment();
    registry.counter(RejectedRecords.REJECTED, "topic", topics.inputs.name()).increment();
  }

  /** An accepted HTTP request; {@code kind} is {@code sample} or {@code feedback}. */
  public void httpAccepted(String kind) {
    registry.counter(HTTP_ACCEPTED, "kind", kind).increment();
  }

  public void httpRejected(String kind, RejectReason reason) {
    registry.counter(HTTP_REJECTED, "kind", kind, "reason", reason.tag()).increment();
  }

  /** The registry the counters are on; core's Streams error handlers count there too. */
  MeterRegistry registry() {
    return registry;
  }

  private Counter accepted(String sourceTag) {
    return registry.counter(SAMPLES_ACCEPTED, "source", sourceTag);
  }

  private Counter rejected(String name, RejectReason reason) {
    return registry.counter(name, "reason", reason.tag());
  }
}
