package dev.streamtune.evaluator.internal;

import dev.streamtune.core.learn.LabelPriority;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.LabelProbability;
import dev.streamtune.core.records.LabellingRequest;
import dev.streamtune.evaluator.Labelling;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The labelling queue of one model (see {@link Labelling}): served inputs scored by {@link LabelPriority} wait here until a
 * round of the budget picks its batch ({@link LabelPriority#selectBatch}: the drift region first, a uniform sample; outside it,
 * uncertain and diverse inputs) and hands them to {@code publish}. A new
 * champion starts a new reference and drops what waits (its scores were the old champion's). Driven by one thread, the
 * feature-drift worker's; not thread-safe.
 */
final class LabellingQueue {
  /** Requests published, tagged {@code model} and {@code version}. */
  static final String REQUESTS = "streamtune.evaluator.labelling.requests";
  /** Gauge: inputs waiting for a round, tagged {@code model}. */
  static final String PENDING = "streamtune.evaluator.labelling.pending";

  private record Waiting(LabellingRequest request, float[] probabilities, float[] embedding) {}

  private final Labelling params;
  private final String model;
  private final MeterRegistry registry;
  private final Consumer<LabellingRequest> publish;
  private final List<Waiting> waiting = new ArrayList<>();
  private final Set<Integer> bound = new HashSet<>();
  private LabelPriority.Reference reference;
  private int version = -1;
  private Instant onset;
  private Instant nextRound;
  private double carried;
  private long rounds;

  LabellingQueue(Labelling params, String model, MeterRegistry registry, Consumer<LabellingRequest> publish) {
    this.params = params;
    this.model = model;
    this.registry = registry;
    this.publish = publish;
    Gauge.builder(PENDING, waiting, List::size).tag("model", model)
        .description("served inputs waiting in the labelling queue for a round of the budget").register(registry);
  }

  /** A new champion: a fresh reference, no drift region, nothing waiting. */
  void reset(int version) {
    this.version = version;
    reference = new LabelPriority.Reference(params.reference(), Math.min(params.reference(), 50), model.hashCode() ^ version);
    onset = null;
    waiting.clear();
    if (bound.add(version)) {
      requests(version);
    }
  }

  /** A drift alarm: inputs of its version served from its onset on are in the drift region (the earliest onset counts). */
  void onDrift(DriftSignal d) {
    if (d.model().equals(model) && d.version() == version && (onset == null || d.onset().isBefore(onset))) {
      onset = d.onset();
    }
  }

  /**
   * Scores a served input the champion answered and puts it in the queue (dropping the lowest waiting one when full).
   *
   * @param probabilities the champion's answer over its labels
   * @param embedding the input's embedding (the spec's embedding layer)
   */
  void offer(String predictionId, byte[] image, Instant servedAt, float[] probabilities, float[] embedding, List<String> labels,
      Instant now) {
    if (reference == null) {
      return;
    }
    boolean drift = onset != null && !servedAt.isBefore(onset);
    double novelty = reference.novelty(embedding);
    if (reference.size() < params.reference() && !drift) {
      reference.add(embedding); // the champion's first inputs stand for what it knows
    }
    LabelPriority.Score s = LabelPriority.score(probabilities, novelty, drift);
    LabellingRequest r = new LabellingRequest(LabellingRequest.CURRENT, predictionId, model, version,
        topK(probabilities, labels, 3), s.priority(), s.uncertainty(), Double.isNaN(novelty) ? Double.NaN : s.novelty(), drift,
        servedAt, now, image);
    waiting.add(new Waiting(r, probabilities, embedding));
    if (waiting.size() > params.pendingMax()) {
      int lowest = 0;
      for (int i = 1; i < waiting.size(); i++) {
        if (waiting.get(i).request().priority() < waiting.get(lowest).request().priority()) {
          lowest = i;
        }
      }
      waiting.remove(lowest);
    }
  }

  /** Runs a round when one is due: drops expired inputs, publishes the budget's share of the best. The number published. */
  int round(Instant now) {
    if (nextRound == null) {
      nextRound = now.plus(params.interval());
      return 0;
    }
    if (now.isBefore(nextRound)) {
      return 0;
    }
    nextRound = now.plus(params.interval());
    Instant oldest = now.minus(params.maxAge());
    waiting.removeIf(w -> w.request().servedAt().isBefore(oldest));
    carried += params.perInterval();
    int n = (int) Math.min(Math.floor(carried), waiting.size());
    if (n == 0) {
      carried = Math.min(carried, Math.max(1, params.perInterval()));
      return 0;
    }
    carried -= n;
    int m = waiting.size();
    float[][] p = new float[m][];
    float[][] h = new float[m][];
    boolean[] drift = new boolean[m];
    for (int i = 0; i < m; i++) {
      Waiting w = waiting.get(i);
      p[i] = w.probabilities();
      h[i] = w.embedding();
      drift[i] = w.request().driftRegion();
    }
    int[] taken = LabelPriority.selectBatch(p, h, drift, n, ++rounds);
    List<Integer> sorted = new ArrayList<>();
    for (int i : taken) {
      LabellingRequest r = waiting.get(i).request();
      publish.accept(new LabellingRequest(r.schema(), r.predictionId(), r.model(), r.version(), r.topK(), r.priority(),
          r.uncertainty(), r.novelty(), r.driftRegion(), r.servedAt(), now, r.image()));
      requests(r.version()).increment();
      sorted.add(i);
    }
    sorted.sort(Collections.reverseOrder());
    for (int i : sorted) {
      waiting.remove(i);
    }
    return taken.length;
  }

  int pending() {
    return waiting.size();
  }

  private Counter requests(int v) {
    return Counter.builder(REQUESTS).tags("model", model, "version", Integer.toString(v))
        .description("served inputs published on labelling.requests for the labelling teams").register(registry);
  }

  private static List<LabelProbability> topK(float[] p, List<String> labels, int k) {
    Integer[] idx = new Integer[p.length];
    for (int i = 0; i < p.length; i++) {
      idx[i] = i;
    }
    java.util.Arrays.sort(idx, (a, b) -> Float.compare(p[b], p[a]));
    List<LabelProbability> out = new ArrayList<>();
    for (int i = 0; i < Math.min(k, p.length); i++) {
      out.add(new LabelProbability(labels.get(idx[i]), Math.max(0, Math.min(1, p[idx[i]]))));
    }
    return out;
  }
}
