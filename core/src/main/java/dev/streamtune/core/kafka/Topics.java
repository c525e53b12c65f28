package dev.streamtune.core.kafka;

import dev.streamtune.core.json.JsonSerde;
import dev.streamtune.core.records.Candidate;
import dev.streamtune.core.records.Decision;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.Feedback;
import dev.streamtune.core.records.LabellingRequest;
import dev.streamtune.core.records.Prediction;
import dev.streamtune.core.records.Promotion;
import dev.streamtune.core.records.Sample;
import dev.streamtune.core.records.ShadowScore;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.Serdes;

/** The catalogue of StreamTune's topics under one prefix (default {@code streamtune.}). Immutable. */
public final class Topics {
  /** Header names on {@code samples.raw} and rejected records. */
  public static final String HEADER_LABEL = "st-label";
  public static final String HEADER_DOMAIN = "st-domain";
  public static final String HEADER_SOURCE = "st-source";
  public static final String HEADER_CONTENT_TYPE = "content-type";
  public static final String HEADER_REJECT_REASON = "st-reject-reason";
  public static final String HEADER_REJECT_TOPIC = "st-reject-topic";
  /**
   * Which application rejected the record (a Streams application id or a consumer's client id): the topic's {@linkplain
   * #rejecter rejecter}, or the one reader of that record (the gate for a held-out sample).
   */
  public static final String HEADER_REJECT_BY = "st-reject-by";

  public static final String DEFAULT_PREFIX = "streamtune.";

  private final String prefix;
  public final Topic<String, byte[]> samplesRaw;
  public final Topic<String, Sample> samples;
  public final Topic<String, byte[]> samplesRejected;
  public final Topic<String, byte[]> inputs;
  public final Topic<String, Prediction> predictions;
  public final Topic<String, Feedback> feedback;
  public final Topic<String, DriftSignal> drift;
  public final Topic<String, Candidate> candidates;
  public final Topic<String, Decision> decisions;
  public final Topic<String, Promotion> promotions;
  /** Served inputs the labelling teams are asked to label, ranked (evaluator → ingest's labelling routes). */
  public final Topic<String, LabellingRequest> labellingRequests;
  /**
   * Shadow scoring evidence (serving → anyone who weighs a candidate, e.g. the gate): windows of a candidate scored beside the
   * champion on live requests, keyed by model name.
   */
  public final Topic<String, ShadowScore> shadow;
  /** Records of any JSON topic that could not be read, with the reason and source topic in headers. */
  public final Topic<String, byte[]> recordsRejected;
  /** Each topic's rejecter, by topic name. */
  private final Map<String, TopicReader> rejecters;

  public Topics(String prefix) {
    if (prefix == null || !prefix.matches("[A-Za-z0-9._-]*")) {
      throw new IllegalArgumentException("topic prefix may hold only letters, digits, '.', '_' and '-', was '" + prefix + "'");
    }
    this.prefix = prefix;
    samplesRaw = bytes("samples.raw");
    samples = new Topic<>(prefix + "samples", Serdes.String(), new JsonSerde<>(Sample.class), false);
    samplesRejected = bytes("samples.rejected");
    inputs = bytes("inputs");
    predictions = new Topic<>(prefix + "predictions", Serdes.String(), new JsonSerde<>(Prediction.class), false);
    feedback = new Topic<>(prefix + "feedback", Serdes.String(), new JsonSerde<>(Feedback.class), false);
    drift = new Topic<>(prefix + "drift", Serdes.String(), new JsonSerde<>(DriftSignal.class), false);
    candidates = new Topic<>(prefix + "candidates", Serdes.String(), new JsonSerde<>(Candidate.class), false);
    decisions = new Topic<>(prefix + "decisions", Serdes.String(), new JsonSerde<>(Decision.class), false);
    promotions = new Topic<>(prefix + "promotions", Serdes.String(), new JsonSerde<>(Promotion.class), true);
    recordsRejected = bytes("records.rejected");
    labellingRequests = new Topic<>(prefix + "labelling.requests", Serdes.String(), new JsonSerde<>(LabellingRequest.class), false);
    shadow = new Topic<>(prefix + "shadow", Serdes.String(), new JsonSerde<>(ShadowScore.class), false);
    // the reader whose job the topic's records are: ingest validates what arrives from outside, the evaluator reads what
    // serving answered, the gate what it judges and publishes, the trainer what it learns from and reacts to
    rejecters = Map.ofEntries(Map.entry(samplesRaw.name(), TopicReader.INGEST), Map.entry(inputs.name(), TopicReader.INGEST),
        Map.entry(feedback.name(), TopicReader.INGEST), Map.entry(labellingRequests.name(), TopicReader.INGEST),
        Map.entry(predictions.name(), TopicReader.EVALUATOR), Map.entry(candidates.name(), TopicReader.GATE),
        Map.entry(promotions.name(), TopicReader.GATE), Map.entry(shadow.name(), TopicReader.GATE),
        // samples: the trainer reads and rejects all but the held-out share, which only the gate reads (and rejects)
        Map.entry(samples.name(), TopicReader.TRAINER), Map.entry(drift.name(), TopicReader.TRAINER),
        Map.entry(decisions.name(), TopicReader.TRAINER));
  }

  /**
   * The one reader that rejects a topic's unreadable records onto {@code records.rejected}; its other readers skip them. A topic
   * outside the catalogue (none is read today) is rejected by whoever reads it.
   */
  public TopicReader rejecter(String topic) {
    return rejecters.get(topic);
  }

  /** Whether {@code reader} rejects the unreadable records of {@code topic} (its rejecter, or any reader of an unlisted topic). */
  public boolean rejects(TopicReader reader, String topic) {
    TopicReader r = rejecters.get(topic);
    return r == null || r == reader;
  }

  public static Topics withDefaultPrefix() {
    return new Topics(DEFAULT_PREFIX);
  }

  private Topic<String, byte[]> bytes(String name) {
    return new Topic<>(prefix + name, Serdes.String(), Serdes.ByteArray(), false);
  }

  public String prefix() {
    return prefix;
  }

  /** Every topic, for creation at start-up. */
  public List<Topic<?, ?>> all() {
    return List.of(samplesRaw, samples, samplesRejected, inputs, predictions, feedback, drift, candidates, decisions, promotions,
        recordsRejected, labellingRequests, shadow);
  }
}
