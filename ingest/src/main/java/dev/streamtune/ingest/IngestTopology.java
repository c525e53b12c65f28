package dev.streamtune.ingest;

import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.kafka.FeedbackLedger;
import dev.streamtune.core.kafka.Topic;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.records.Feedback;
import dev.streamtune.core.records.Sample;
import dev.streamtune.ingest.internal.FeedbackProcessor;
import dev.streamtune.ingest.internal.FeedbackValidator;
import dev.streamtune.ingest.internal.IngestMetrics;
import dev.streamtune.ingest.internal.InputsProcessor;
import dev.streamtune.ingest.internal.JoinedFeedback;
import dev.streamtune.ingest.internal.LabelSet;
import dev.streamtune.ingest.internal.Routed;
import dev.streamtune.ingest.internal.SampleValidationProcessor;
import dev.streamtune.ingest.internal.SampleValidator;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.StreamJoined;

/**
 * Builds the ingest stream graph, a pure function of its arguments (no I/O), so the service and the tests run the same graph.
 *
 * <ol>
 *   <li><b>Validation</b>: {@code samples.raw} (key = sample id, value = encoded image, headers {@code st-label},
 *       {@code st-domain}, {@code st-source}) becomes a {@link Sample} on {@code samples}, or goes to {@code samples.rejected}
 *       unchanged plus {@code st-reject-reason} when it has no id, no or an unknown label, or an image the model's
 *       preprocessing refuses (its spec: size, channels, resize policy, pixel limit). A label may be given as its class index ("3"), which maps to the name.
 *   <li><b>Join</b>: {@code feedback} (key = prediction id, JSON {@link Feedback}) joined with {@code inputs} (key =
 *       prediction id, value = the served image) when their timestamps are at most {@link IngestConfig#joinWindow()} apart becomes
 *       {@code Sample.of(predictionId, label, "served", "feedback", feedback time, image)} on {@code samples}; a label that met
 *       no input once the window and its {@link #grace} closed goes to {@code records.rejected} with reason {@code no-input}
 *       ({@link JoinedFeedback}). Feedback that
 *       cannot be read, is keyed by another id or has a label outside the set goes to {@code records.rejected} with a reason;
 *       a label counts once per prediction: the same label again is counted ({@code streamtune.ingest.feedback.repeated}) and
 *       not joined again, another label for a labelled prediction is rejected (reason {@code relabelled});
 *       so does an input without id, without image or with an image the model's preprocessing refuses (the same check as
 *       samples). Both topics are co-partitioned by prediction id, so the join needs no
 *       repartition topic.
 * </ol>
 *
 * Counters: see {@link IngestMetrics}.
 */
public final class IngestTopology {
  /** How late (beyond the join window) an out-of-order input or feedback may still join, at most ({@link #grace}). */
  public static final Duration JOIN_GRACE = Duration.ofMinutes(1);
  /**
   * The name of the join's window stores (and so of their changelog topics). It was {@code inputs-feedback-join} while the join
   * was an inner one from the inputs: a new name, so that a restarted instance never restores the old stores' records (the sides
   * are swapped) into the new ones.
   */
  public static final String JOIN_STORE = "feedback-inputs-join";
  /** The store of each prediction's first label ({@link FeedbackLedger}): a label joins once. */
  public static final String LEDGER_STORE = "feedback-ledger";
  /** The {@code domain} and {@code source} of a sample made from served input and its feedback. */
  public static final String SERVED_DOMAIN = "served";
  public static final String FEEDBACK_SOURCE = "feedback";

  private IngestTopology() {}

  /**
   * Builds the topology.
   *
   * @param cfg topics, image limits and join window
   * @param spec the model's spec: its label set (index = class index), input size, channels and resize policy
   * @param registry where the ingest counters are registered
   */
  public static Topology build(IngestConfig cfg, ModelSpec spec, MeterRegistry registry) {
    Objects.requireNonNull(cfg, "cfg");
    Objects.requireNonNull(registry, "registry");
    Topics topics = cfg.common().topics();
    LabelSet labelSet = new LabelSet(spec.labels(), cfg.allowNewLabels(), cfg.maxNewLabels());
    IngestMetrics metrics = new IngestMetrics(registry, topics);
    StreamsBuilder builder = new StreamsBuilder();
    validation(builder, topics, new SampleValidator(labelSet, images(cfg, spec)), metrics);
    join(builder, topics, new FeedbackValidator(labelSet), images(cfg, spec), metrics, cfg.joinWindow());
    return builder.build();
  }

  /** How an image must decode to be accepted: as the model's spec takes it, within the configured pixel limit. */
  public static Preprocessor images(IngestConfig cfg, ModelSpec spec) {
    return Preprocessor.of(spec).withMaxPixels(cfg.imageMaxPixels());
  }

  private static void validation(StreamsBuilder builder, Topics topics, SampleValidator validator, IngestMetrics metrics) {
    builder.stream(topics.samplesRaw.name(), consumedBytes(topics.samplesRaw, "samples-raw"))
        .processValues(() -> new SampleValidationProcessor(validator, metrics), Named.as("validate-samples"))
        .split(Named.as("samples-"))
        .branch((id, routed) -> routed.accepted(), Branched.withConsumer(accepted -> accepted
            .mapValues(Routed::value, Named.as("accepted-sample"))
            .to(topics.samples.name(), produced(topics.samples, "to-samples")), "accepted"))
        .defaultBranch(Branched.withConsumer(rejected -> rejected
            .mapValues(Routed::original, Named.as("rejected-sample"))
            .to(topics.samplesRejected.name(), produced(topics.samplesRejected, "to-samples-rejected")), "rejected"));
  }

  private static void join(StreamsBuilder builder, Topics topics, FeedbackValidator validator, Preprocessor decoder,
      IngestMetrics metrics, Duration window) {
    Map<String, KStream<String, Routed<byte[]>>> inputs =
        builder.stream(topics.inputs.name(), consumedBytes(topics.inputs, "inputs"))
            .processValues(() -> new InputsProcessor(metrics, decoder), Named.as("check-inputs"))
            .split(Named.as("inputs-"))
            .branch((id, routed) -> routed.accepted(), Branched.as("ok"))
            .defaultBranch(Branched.as("rejected"));
    // feedback is read as bytes and parsed in a processor, so an unreadable record is rejected instead of failing the app;
    // a prediction's first label is kept as long as a second one could join the same input, so a label joins once
    Duration horizon = FeedbackLedger.horizon(window, grace(window));
    builder.addStateStore(FeedbackLedger.store(LEDGER_STORE, horizon));
    Map<String, KStream<String, Routed<Feedback>>> feedback =
        builder.stream(topics.feedback.name(), Consumed.with(Serdes.String(), Serdes.ByteArray()).withName("feedback"))
            .processValues(() -> new FeedbackProcessor(validator, metrics, LEDGER_STORE, horizon), Named.as("check-feedback"),
                LEDGER_STORE)
            .split(Named.as("feedback-"))
            .branch((id, routed) -> routed.accepted(), Branched.as("ok"))
            .defaultBranch(Branched.as("rejected"));

    inputs.get("inputs-rejected").mapValues(Routed::original, Named.as("rejected-input"))
        .to(topics.recordsRejected.name(), produced(topics.recordsRejected, "input-to-records-rejected"));
    feedback.get("feedback-rejected").mapValues(Routed::original, Named.as("rejected-feedback"))
        .to(topics.recordsRejected.name(), produced(topics.recordsRejected, "feedback-to-records-rejected"));

    KStream<String, byte[]> images = inputs.get("inputs-ok").mapValues(Routed::value, Named.as("input-image"));
    KStream<String, Feedback> labels = feedback.get("feedback-ok").mapValues(Routed::value, Named.as("feedback-value"));
    // a left join from the labels: one that meets no served image within the window is rejected once the window closed
    Map<String, KStream<String, Routed<Sample>>> joined = labels.leftJoin(images, JoinedFeedback.Labelled::new,
            JoinWindows.ofTimeDifferenceAndGrace(window, grace(window)),
            StreamJoined.with(Serdes.String(), topics.feedback.valueSerde(), Serdes.ByteArray()).withName("join-feedback-inputs")
                .withStoreName(JOIN_STORE))
        .processValues(() -> new JoinedFeedback(metrics, SERVED_DOMAIN, FEEDBACK_SOURCE, window), Named.as("joined-feedback"))
        .split(Named.as("joined-"))
        .branch((id, routed) -> routed.accepted(), Branched.as("sample"))
        .defaultBranch(Branched.as("no-input"));
    joined.get("joined-sample").mapValues(Routed::value, Named.as("joined-sample-value"))
        .to(topics.samples.name(), produced(topics.samples, "joined-to-samples"));
    joined.get("joined-no-input").mapValues(Routed::original, Named.as("unjoined-feedback"))
        .to(topics.recordsRejected.name(), produced(topics.recordsRejected, "unjoined-to-records-rejected"));
  }

  /**
   * How late (beyond the join window) an out-of-order input or feedback may still join, and so how long after its window a label
   * that met no input is rejected: {@link #JOIN_GRACE}, or the window itself when that is shorter.
   */
  public static Duration grace(Duration window) {
    return window.compareTo(JOIN_GRACE) < 0 ? window : JOIN_GRACE;
  }

  private static Consumed<String, byte[]> consumedBytes(Topic<String, byte[]> topic, String name) {
    return Consumed.with(topic.keySerde(), topic.valueSerde()).withName(name);
  }

  private static <V> Produced<String, V> produced(Topic<String, V> topic, String name) {
    return Produced.with(topic.keySerde(), topic.valueSerde()).withName(name);
  }
}
