package dev.streamtune.serving.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Serving's meters, all bound here. Tags are bounded: model name, version, outcome, reason, topic. Recording never throws into
 * the request path. Thread-safe.
 *
 * <ul>
 *   <li>{@code streamtune.serving.requests{model,version,outcome,protocol}}: answered ({@code ok}), refused ({@code rejected}) or
 *       failed ({@code error}) prediction requests, by the {@link Protocol} they came over ({@code http}: {@code /predict} and
 *       {@code /v2}; {@code grpc}: the Open Inference Protocol's {@code GRPCInferenceService})
 *   <li>{@code streamtune.serving.latency{model,version,protocol}}: request arrival to answer, with a percentile histogram
 *   <li>{@code streamtune.serving.batch.size}: requests per {@code output()} call
 *   <li>{@code streamtune.serving.queue.depth}: requests waiting for inference
 *   <li>{@code streamtune.serving.model.version{model}}: the version serving now, 0 before the first
 *   <li>{@code streamtune.serving.swaps{model,version,outcome}}: versions swapped in to serve ({@code ok}: read from the store, or
 *       a version still loaded served again) or refused ({@code failed}); {@code version} is the version that was serving when the
 *       swap came ({@code 0} for the first), so both series exist at 0 from the moment it serves and {@code increase()} sees
 *       the swap away from it
 *   <li>{@code streamtune.serving.model.load{model}}: no {@code version}: a series per loaded version would be born at its only
 *       event, which {@code increase()} never sees; each load's version and time are in its log line
 *   <li>{@code streamtune.serving.model.load{model}} (timer): versions read from the store, verified and warmed up off the request path
 *       (to serve or to be kept for pinned requests), with how long each took; a swap back to a version still loaded is not one
 *   <li>{@code streamtune.serving.rejected{reason}}: refused requests by {@link RejectReason}
 *   <li>{@code streamtune.serving.events.sent{topic}}, {@code streamtune.serving.events.failed{topic}}: prediction and input events,
 *       and the {@code ShadowScore} windows on {@code shadow}
 * </ul>
 *
 * <p>Shadow scoring ({@link ShadowScorer}): {@code version} is the shadow's (the candidate's), {@code champion} the version that
 * answered the requests (its parent). The series of a pair exist from the moment the shadow is loaded.
 *
 * <ul>
 *   <li>{@code streamtune.serving.shadow.version{model}}: the candidate scored in the shadow now, 0 when none
 *   <li>{@code streamtune.serving.shadow.scored{model,version,champion}}: answered images the shadow scored too
 *   <li>{@code streamtune.serving.shadow.agreed{model,version,champion}}: of those, images both gave the same top-1 label
 *   <li>{@code streamtune.serving.shadow.agreement{model,version,champion}}: agreed ÷ scored since the shadow was loaded (NaN
 *       before the first)
 *   <li>{@code streamtune.serving.shadow.confidence{model,version,champion,role}}: mean top-1 probability on the scored images
 *       of the {@code shadow} and of the {@code champion} (the same images)
 *   <li>{@code streamtune.serving.shadow.dropped{model,version,champion,reason}}: images picked for the shadow but not scored:
 *       {@code queue-full} (the shadow thread was behind), {@code error} (the shadow failed on them) or {@code superseded} (the
 *       shadow was dropped or replaced while they waited)
 *   <li>{@code streamtune.serving.shadow.refused{model,reason}}: candidates not taken as shadow: {@code bad-name},
 *       {@code no-such-version}, {@code sha256-mismatch} (the announced sha256 is not the stored one), {@code cannot-load} (the
 *       files do not load, verify or run), {@code other-input} (it takes another input than the champion)
 * </ul>
 */
public final class ServingMetrics implements MeterBinder {
  public static final String REQUESTS = "streamtune.serving.requests";
  public static final String LATENCY = "streamtune.serving.latency";
  public static final String BATCH_SIZE = "streamtune.serving.batch.size";
  public static final String QUEUE_DEPTH = "streamtune.serving.queue.depth";
  public static final String MODEL_VERSION = "streamtune.serving.model.version";
  public static final String SWAPS = "streamtune.serving.swaps";
  public static final String MODEL_LOAD = "streamtune.serving.model.load";
  public static final String REJECTED = "streamtune.serving.rejected";
  public static final String EVENTS_SENT = "streamtune.serving.events.sent";
  public static final String EVENTS_FAILED = "streamtune.serving.events.failed";
  public static final String SHADOW_VERSION = "streamtune.serving.shadow.version";
  public static final String SHADOW_SCORED = "streamtune.serving.shadow.scored";
  public static final String SHADOW_AGREED = "streamtune.serving.shadow.agreed";
  public static final String SHADOW_AGREEMENT = "streamtune.serving.shadow.agreement";
  public static final String SHADOW_CONFIDENCE = "streamtune.serving.shadow.confidence";
  public static final String SHADOW_DROPPED = "streamtune.serving.shadow.dropped";
  public static final String SHADOW_REFUSED = "streamtune.serving.shadow.refused";
  public static final String SWAP_P99 = "streamtune.serving.swap.p99";
  public static final String SWAP_STEADY_P99 = "streamtune.serving.swap.steady.p99";
  public static final String SWAP_JITTER = "streamtune.serving.swap.jitter";
  public static final String SWAPS_SUPERSEDED = "streamtune.serving.swaps.superseded";

  /** Why a candidate was not taken as the shadow: the bounded {@code reason} tag of {@value #SHADOW_REFUSED}. */
  public enum ShadowRefusal {
    BAD_NAME("bad-name"),
    NO_SUCH_VERSION("no-such-version"),
    SHA256_MISMATCH("sha256-mismatch"),
    CANNOT_LOAD("cannot-load"),
    OTHER_INPUT("other-input");

    private final String tag;

    ShadowRefusal(String tag) {
      this.tag = tag;
    }

    public String tag() {
      return tag;
    }
  }

  /** Why images picked for the shadow were not scored: the bounded {@code reason} tag of {@value #SHADOW_DROPPED}. */
  public enum ShadowDrop {
    QUEUE_FULL("queue-full"),
    ERROR("error"),
    SUPERSEDED("superseded");

    private final String tag;

    ShadowDrop(String tag) {
      this.tag = tag;
    }

    public String tag() {
      return tag;
    }
  }

  /** The transport a request came over: the bounded {@code protocol} tag of the request meters. */
  public enum Protocol {
    HTTP("http"),
    GRPC("grpc");

    private final String tag;

    Protocol(String tag) {
      this.tag = tag;
    }

    /** The metric tag value. */
    public String tag() {
      return tag;
    }
  }

  private final String model;
  private final AtomicInteger queueDepth = new AtomicInteger();
  private final AtomicInteger servingVersion = new AtomicInteger();
  private final AtomicInteger shadowVersion = new AtomicInteger();
  private final SwapJitter jitter = new SwapJitter();
  /** The last measured swap: p99 during it, steady p99 before it (seconds), and their ratio; NaN before the first. */
  private final double[] lastSwap = {Double.NaN, Double.NaN, Double.NaN};
  private DistributionSummary swapJitter;
  private final Map<RejectReason, Counter> rejected = new EnumMap<>(RejectReason.class);
  private MeterRegistry registry;
  private DistributionSummary batchSize;
  private final Map<Long, AnsweredMeters> answeredMeters = new java.util.concurrent.ConcurrentHashMap<>();
  private final Map<String, Counter> eventsSent = new java.util.concurrent.ConcurrentHashMap<>();

  public ServingMetrics(String model) {
    this.model = Objects.requireNonNull(model, "model");
  }

  @Override
  public synchronized void bindTo(MeterRegistry registry) {
    this.registry = registry;
    answeredMeters.clear();
    eventsSent.clear();
    Gauge.builder(QUEUE_DEPTH, queueDepth, AtomicInteger::get).description("requests waiting for inference")
        .strongReference(true).register(registry);
    Gauge.builder(MODEL_VERSION, servingVersion, AtomicInteger::get).tag("model", model)
        .description("the model version serving now, 0 before the first").strongReference(true).register(registry);
    // at 0 from the start: the first adaptation on this node counts in increase()
    dev.streamtune.core.metrics.Metrics.adapt(registry, model, "swap");
    batchSize = DistributionSummary.builder(BATCH_SIZE).description("requests answered by one output() call")
        .publishPercentileHistogram().minimumExpectedValue(1.0).maximumExpectedValue(4096.0).register(registry);
    for (RejectReason r : RejectReason.values()) {
      rejected.put(r, Counter.builder(REJECTED).tag("reason", r.tag()).description("refused prediction requests")
          .register(registry));
    }
    bindSwaps(0);
    modelLoad(registry);
    Gauge.builder(SWAP_P99, lastSwap, a -> a[0]).tag("model", model).baseUnit("seconds")
        .description("p99 latency of the requests answered during the last swap (its load until 1 s after it served)")
        .strongReference(true).register(registry);
    Gauge.builder(SWAP_STEADY_P99, lastSwap, a -> a[1]).tag("model", model).baseUnit("seconds")
        .description("p99 latency of the requests of the 30 s before the last swap").strongReference(true).register(registry);
    swapJitter = DistributionSummary.builder(SWAP_JITTER).tag("model", model)
        .description("p99 latency during a swap over the steady p99 before it, one value per swap")
        .publishPercentileHistogram().minimumExpectedValue(0.5).maximumExpectedValue(100.0).register(registry);
    Counter.builder(SWAPS_SUPERSEDED).tag("model", model)
        .description("promotions not loaded because a newer one arrived within the minimum swap interval").register(registry);
    Gauge.builder(SHADOW_VERSION, shadowVersion, AtomicInteger::get).tag("model", model)
        .description("the candidate version scored in the shadow now, 0 when none").strongReference(true).register(registry);
    for (ShadowRefusal r : ShadowRefusal.values()) {
      shadowRefusedCounter(registry, r);
    }
  }

  private Counter shadowRefusedCounter(MeterRegistry registry, ShadowRefusal reason) {
    return Counter.builder(SHADOW_REFUSED).tags("model", model, "reason", reason.tag())
        .description("candidates not taken as the shadow").register(registry);
  }

  /**
   * A candidate is scored in the shadow beside {@code champion} from now on: its series exist at 0, its gauges read
   * {@code tally}.
   */
  public synchronized void shadowStarted(int version, int champion, ShadowScorer.Tally tally) {
    MeterRegistry r = registry();
    String v = Integer.toString(version);
    String c = Integer.toString(champion);
    Counter.builder(SHADOW_SCORED).tags("model", model, "version", v, "champion", c)
        .description("answered images the shadow scored too").register(r);
    Counter.builder(SHADOW_AGREED).tags("model", model, "version", v, "champion", c)
        .description("scored images whose top-1 label the shadow and the champion agreed on").register(r);
    for (ShadowDrop d : ShadowDrop.values()) {
      shadowDroppedCounter(version, champion, d);
    }
    Gauge.builder(SHADOW_AGREEMENT, tally, ShadowScorer.Tally::agreement).tags("model", model, "version", v, "champion", c)
        .description("share of scored images on which the shadow's top-1 label is the champion's").strongReference(true)
        .register(r);
    Gauge.builder(SHADOW_CONFIDENCE, tally, ShadowScorer.Tally::shadowMeanConfidence)
        .tags("model", model, "version", v, "champion", c, "role", "shadow")
        .description("mean top-1 probability on the scored images").strongReference(true).register(r);
    Gauge.builder(SHADOW_CONFIDENCE, tally, ShadowScorer.Tally::championMeanConfidence)
        .tags("model", model, "version", v, "champion", c, "role", "champion")
        .description("mean top-1 probability on the scored images").strongReference(true).register(r);
    shadowVersion.set(version);
  }

  /** No candidate is scored in the shadow now. */
  public void shadowStopped() {
    shadowVersion.set(0);
  }

  /** {@code inputs} images scored by the shadow, {@code agreed} of them with the champion's top-1 label. */
  public void shadowScored(int version, int champion, int inputs, int agreed) {
    String v = Integer.toString(version);
    String c = Integer.toString(champion);
    registry().counter(SHADOW_SCORED, "model", model, "version", v, "champion", c).increment(inputs);
    registry().counter(SHADOW_AGREED, "model", model, "version", v, "champion", c).increment(agreed);
  }

  /** {@code inputs} images picked for the shadow that it did not score. */
  public void shadowDropped(int version, int champion, ShadowDrop reason, int inputs) {
    shadowDroppedCounter(version, champion, reason).increment(inputs);
  }

  private Counter shadowDroppedCounter(int version, int champion, ShadowDrop reason) {
    return Counter.builder(SHADOW_DROPPED).tags("model", model, "version", Integer.toString(version), "champion",
        Integer.toString(champion), "reason", reason.tag()).description("images picked for the shadow but not scored")
        .register(registry());
  }

  /** A candidate not taken as the shadow. */
  public void shadowRefused(ShadowRefusal reason) {
    shadowRefusedCounter(registry(), reason).increment();
  }

  private Timer modelLoad(MeterRegistry registry) {
    return Timer.builder(MODEL_LOAD).tag("model", model)
        .description("versions read from the store, verified and warmed up off the request path").register(registry);
  }

  private MeterRegistry registry() {
    MeterRegistry r = registry;
    if (r == null) {
      throw new IllegalStateException("ServingMetrics is not bound to a registry");
    }
    return r;
  }

  /** An answered request of a version that came over {@code protocol}, and its latency. */
  public void answered(Protocol protocol, int version, Duration latency) {
    // looked up once per protocol and version: a registry lookup per answered image cost more than the counting
    AnsweredMeters m = answeredMeters.computeIfAbsent(((long) protocol.ordinal() << 32) | (version & 0xffffffffL), k -> {
      String v = Integer.toString(version);
      return new AnsweredMeters(
          registry().counter(REQUESTS, "model", model, "version", v, "outcome", "ok", "protocol", protocol.tag()),
          Timer.builder(LATENCY).tags("model", model, "version", v, "protocol", protocol.tag()).publishPercentileHistogram()
              .register(registry()));
    });
    m.ok().increment();
    m.latency().record(latency.toNanos(), TimeUnit.NANOSECONDS);
    jitter.record(latency.toNanos(), System.nanoTime());
  }

  /** The meters of answered requests of one protocol and version. */
  private record AnsweredMeters(Counter ok, Timer latency) {}

  /** A swap starts loading: the requests from now until {@link SwapJitter#SETTLE} after it ends count as its window. */
  public void swapStarted() {
    jitter.started(System.nanoTime());
  }

  /** The swap that started last ended: {@code version} serves, or was refused. */
  public void swapEnded(int version) {
    jitter.ended(version, System.nanoTime());
  }

  /** A promotion superseded by a newer one before it was loaded. */
  public void countSuperseded() {
    registry().counter(SWAPS_SUPERSEDED, "model", model).increment();
  }

  /**
   * Publishes the last swap's jitter once its window closed: called from the follower thread between polls.
   *
   * @return the swap's result, when one closed now with enough requests before and during it
   */
  public Optional<SwapJitter.Result> closeSwapWindow() {
    Optional<SwapJitter.Result> r = jitter.close(System.nanoTime());
    r.ifPresent(x -> {
      synchronized (lastSwap) {
        lastSwap[0] = x.swapP99Seconds();
        lastSwap[1] = x.steadyP99Seconds();
        lastSwap[2] = x.ratio();
      }
      swapJitter.record(x.ratio());
    });
    return r;
  }

  /** The per-swap jitter ratios recorded so far: how many and their mean (0 before the first). */
  public double[] swapJitter() {
    return new double[] {swapJitter.count(), swapJitter.count() == 0 ? 0 : swapJitter.totalAmount() / swapJitter.count()};
  }

  /** Promotions superseded before they were loaded, so far. */
  public long superseded() {
    return Math.round(registry().counter(SWAPS_SUPERSEDED, "model", model).count());
  }

  /** A refused request; {@code version} is the one serving, or null when none. */
  public void rejected(Protocol protocol, RejectReason reason, Integer version) {
    rejected.get(reason).increment();
    registry().counter(REQUESTS, "model", model, "version", version == null ? "none" : version.toString(), "outcome", "rejected",
        "protocol", protocol.tag()).increment();
  }

  /** A request that failed inside serving. */
  public void failed(Protocol protocol, Integer version) {
    registry().counter(REQUESTS, "model", model, "version", version == null ? "none" : version.toString(), "outcome", "error",
        "protocol", protocol.tag()).increment();
  }

  public void batch(int size) {
    batchSize.record(size);
  }

  public void queueDepth(int depth) {
    queueDepth.set(depth);
  }

  /** A model swapped in: now serving {@code version}. */
  public synchronized void swapped(int version) {
    swaps("ok").increment();
    servingVersion.set(version);
    bindSwaps(version);
  }

  /** The swap counters of the time {@code version} serves, at 0. */
  private void bindSwaps(int version) {
    for (String outcome : new String[] {"ok", "failed"}) {
      Counter.builder(SWAPS).tags("model", model, "version", Integer.toString(version), "outcome", outcome)
          .description("versions swapped in (ok) or refused (failed) while this version served").register(registry());
    }
  }

  private Counter swaps(String outcome) {
    return registry().counter(SWAPS, "model", model, "version", Integer.toString(servingVersion.get()), "outcome", outcome);
  }

  /** A promotion that answers the drift detected at {@code driftAt} serves on this node now: the last stage of the time to adapt. */
  public void adapted(java.time.Instant driftAt) {
    Duration d = Duration.between(driftAt, java.time.Instant.now());
    if (!d.isNegative()) {
      dev.streamtune.core.metrics.Metrics.adapt(registry(), model, "swap").record(d);
    }
  }

  /** A version read from the store, verified and warmed up, in {@code took}. */
  public void loaded(Duration took) {
    modelLoad(registry()).record(took.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Versions read from the store so far. */
  public long loads() {
    return modelLoad(registry()).count();
  }

  /** The time the loads so far took, together, in seconds. */
  public double loadSeconds() {
    return modelLoad(registry()).totalTime(TimeUnit.SECONDS);
  }

  /** Versions swapped in so far ({@code ok}). */
  public long swaps() {
    return total(SWAPS, "ok");
  }

  /** Promoted versions refused so far. */
  public long failedSwaps() {
    return total(SWAPS, "failed");
  }

  private long total(String name, String outcome) {
    return Math.round(registry().find(name).tag("outcome", outcome).counters().stream().mapToDouble(Counter::count).sum());
  }

  /** {@code output()} calls so far. */
  public long batchCalls() {
    return batchSize.count();
  }

  /** Requests answered by {@code output()} calls so far. */
  public long batchedRequests() {
    return Math.round(batchSize.totalAmount());
  }

  /** Events that could not be sent so far, every topic together (predictions, inputs, shadow). */
  public long eventsFailed() {
    return Math.round(registry().find(EVENTS_FAILED).counters().stream().mapToDouble(Counter::count).sum());
  }

  public synchronized void swapFailed() {
    swaps("failed").increment();
  }

  public void eventSent(String topic) {
    eventsSent.computeIfAbsent(topic, t -> registry().counter(EVENTS_SENT, "topic", t)).increment();
  }

  /** The failed-event counters of these topics exist at 0 from now on, so {@code increase()} sees the first failure. */
  public void eventTopics(String... topics) {
    for (String t : topics) {
      registry().counter(EVENTS_FAILED, "topic", t);
    }
  }

  public void eventFailed(String topic) {
    registry().counter(EVENTS_FAILED, "topic", topic).increment();
  }
}
