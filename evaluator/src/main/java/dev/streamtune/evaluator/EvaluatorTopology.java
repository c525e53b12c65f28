package dev.streamtune.evaluator;

import dev.streamtune.core.json.JsonSerde;
import dev.streamtune.core.kafka.FeedbackLedger;
import dev.streamtune.core.kafka.Topic;
import dev.streamtune.core.kafka.TopicReader;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.records.Feedback;
import dev.streamtune.core.records.FeedbackRule;
import dev.streamtune.core.records.Outcome;
import dev.streamtune.core.records.Prediction;
import dev.streamtune.evaluator.internal.ConfidenceMonitor;
import dev.streamtune.evaluator.internal.EvaluatorMeters;
import dev.streamtune.evaluator.internal.ConfidenceProcessor;
import dev.streamtune.evaluator.internal.FirstLabelOnly;
import dev.streamtune.evaluator.internal.LiveAccuracy;
import dev.streamtune.evaluator.internal.ModelMonitor;
import dev.streamtune.evaluator.internal.MonitorProcessor;
import dev.streamtune.evaluator.internal.ParseOrReject;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.BiFunction;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.StreamJoined;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The monitoring topology: predictions ⋈ feedback (by prediction id, within the label delay) → outcomes → re-keyed by model →
 * live accuracy per version and the configured drift detectors → {@code drift}. A second, label-free branch re-keys predictions
 * alone by model and runs the Kolmogorov–Smirnov check on served confidences → {@code drift} (kind DATA), so a shift can be
 * flagged before any feedback exists. Unreadable records go to {@code records.rejected}.
 */
public final class EvaluatorTopology {
  private static final Logger log = LoggerFactory.getLogger(EvaluatorTopology.class);
  public static final String MONITOR_STORE = "model-monitor";
  public static final String CONFIDENCE_STORE = "confidence-monitor";
  /** The store of each prediction's first label ({@link FeedbackLedger}): a label counts once. */
  public static final String LEDGER_STORE = "feedback-ledger";
  /**
   * The name of the {@code feedback ⟕ predictions} join and its stores. It was {@code outcome-join} while the join was an inner
   * one from the predictions: a new name, so that a restarted instance never restores the old stores (sides swapped) into it.
   */
  public static final String OUTCOME_JOIN = "feedback-outcome-join";
  /** How late (beyond the join window) a prediction or its feedback may still join. */
  public static final Duration JOIN_GRACE = Duration.ofSeconds(30);

  private EvaluatorTopology() {}

  /** The labels of a model version, in output order (empty when unknown): a feedback label given as a class index names one. */
  @FunctionalInterface
  public interface Labels {
    List<String> of(String model, int version);
  }

  /**
   * @param labels each served version's labels, so feedback is read by the rule ingest applies ({@link FeedbackRule}): a label
   *     given as a class index means that label of the version that answered
   */
  public static Topology build(EvaluatorConfig cfg, MeterRegistry registry, LiveAccuracy live, Labels labels) {
    Topics t = cfg.common().topics();
    StreamsBuilder b = new StreamsBuilder();
    KStream<String, Prediction> predictions = parsed(b, t.predictions, Prediction.class, t, registry, (k, v) -> Optional.empty());
    // feedback keyed by another prediction would join that one: left out, as ingest rejects it
    KStream<String, Feedback> readable = parsed(b, t.feedback, Feedback.class, t, registry,
        (k, f) -> FeedbackRule.check(k, f).map(FeedbackRule.Refusal::text));
    // a label counts once per prediction: a resent label would otherwise count a second outcome
    Duration horizon = FeedbackLedger.horizon(cfg.joinWindow(), JOIN_GRACE);
    b.addStateStore(FeedbackLedger.store(LEDGER_STORE, horizon));
    KStream<String, Feedback> feedback = readable.processValues(() -> new FirstLabelOnly(registry, LEDGER_STORE, horizon),
        Named.as("first-label-only"), LEDGER_STORE);

    JsonSerde<Outcome> outcomeSerde = new JsonSerde<>(Outcome.class);
    // a left join from the labels, so that a label whose prediction never arrived is counted once its window closed
    KStream<String, Outcome> outcomes = feedback.leftJoin(predictions, (f, p) -> p == null ? null
            : Outcome.of(p, named(f, labels.of(p.model(), p.version()))),
        JoinWindows.ofTimeDifferenceAndGrace(cfg.joinWindow(), JOIN_GRACE),
        StreamJoined.with(Serdes.String(), t.feedback.valueSerde(), t.predictions.valueSerde()).withName(OUTCOME_JOIN)
            .withStoreName(OUTCOME_JOIN))
        .filter((id, outcome) -> outcome != null || noPrediction(registry, id), Named.as("joined-a-prediction"));

    // the monitors rewrite their state on every record: cached, so the changelog gets the last state per commit, not each one
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(MONITOR_STORE), Serdes.String(),
        new JsonSerde<>(ModelMonitor.State.class)).withCachingEnabled());
    ModelMonitor monitor = new ModelMonitor(cfg.drift(), cfg.accuracyWindow());
    outcomes.selectKey((id, o) -> o.model(), Named.as("by-model"))
        .repartition(Repartitioned.with(Serdes.String(), outcomeSerde).withName("outcomes-by-model"))
        .process(() -> new MonitorProcessor(monitor, MONITOR_STORE, live, registry), Named.as("monitor"), MONITOR_STORE)
        .to(t.drift.name(), Produced.with(t.drift.keySerde(), t.drift.valueSerde()));

    if (cfg.confidence().enabled()) {
      b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(CONFIDENCE_STORE), Serdes.String(),
          new JsonSerde<>(ConfidenceMonitor.State.class)).withCachingEnabled());
      ConfidenceMonitor confidence = new ConfidenceMonitor(cfg.confidence());
      predictions.selectKey((id, p) -> p.model(), Named.as("predictions-by-model-key"))
          .repartition(Repartitioned.with(Serdes.String(), t.predictions.valueSerde()).withName("predictions-by-model"))
          .process(() -> new ConfidenceProcessor(confidence, CONFIDENCE_STORE, live, registry), Named.as("confidence-monitor"),
              CONFIDENCE_STORE)
          .to(t.drift.name(), Produced.with(t.drift.keySerde(), t.drift.valueSerde()));
    }
    return b.build();
  }

  /** Counts a label that met no prediction within its window; false, so it goes no further. */
  private static boolean noPrediction(MeterRegistry registry, String predictionId) {
    registry.counter(EvaluatorMeters.FEEDBACK_IGNORED, "reason", EvaluatorMeters.NO_PREDICTION).increment();
    log.debug("no prediction '{}' arrived within the join window of its label: not counted as an outcome", predictionId);
    return false;
  }

  /** The feedback with its label as the answering version's label name, when it was given as a class index. */
  private static Feedback named(Feedback f, List<String> labels) {
    return FeedbackRule.name(f.label(), labels).filter(n -> !n.equals(f.label()))
        .map(n -> new Feedback(f.schema(), f.predictionId(), n, f.annotator(), f.timestamp())).orElse(f);
  }

  private static <V> KStream<String, V> parsed(StreamsBuilder b, Topic<String, V> topic, Class<V> type, Topics t,
      MeterRegistry registry, BiFunction<String, V, Optional<String>> check) {
    String name = topic.name().substring(t.prefix().length());
    // a topic another reader rejects for (ingest: feedback) is only skipped here: one bad record, one rejection
    TopicReader skipFor = t.rejects(TopicReader.EVALUATOR, topic.name()) ? null : t.rejecter(topic.name());
    KStream<String, ParseOrReject.Parsed<V>> parsed = b.stream(topic.name(), Consumed.with(Serdes.String(), Serdes.ByteArray()))
        .processValues(() -> new ParseOrReject<>(type, registry, check, skipFor), Named.as("parse-" + name));
    if (skipFor == null) {
      parsed.filterNot((k, p) -> p.ok(), Named.as("unreadable-" + name)).mapValues(ParseOrReject.Parsed::raw)
          .to(t.recordsRejected.name(), Produced.with(Serdes.String(), Serdes.ByteArray()));
    }
    return parsed.filter((k, p) -> p.ok(), Named.as("readable-" + name)).mapValues(ParseOrReject.Parsed::value);
  }
}
