package dev.streamtune.serving;

import dev.streamtune.core.Lifecycle;
import dev.streamtune.core.ServiceState;
import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.http.ServiceHttp;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.RejectedRecords;
import dev.streamtune.core.kafka.TopicReader;
import dev.streamtune.core.metrics.Metrics;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.Dl4jRuntime;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.PromotionCheck;
import dev.streamtune.serving.internal.CandidateFollower;
import dev.streamtune.serving.internal.EventPublisher;
import dev.streamtune.serving.internal.GrpcEndpoint;
import dev.streamtune.serving.internal.GrpcInferenceService;
import dev.streamtune.serving.internal.InferenceBatcher;
import dev.streamtune.serving.internal.ModelHolder;
import dev.streamtune.serving.internal.ModelSwapper;
import dev.streamtune.serving.internal.OpenInference;
import dev.streamtune.serving.internal.OpenInferenceHandler;
import dev.streamtune.serving.internal.PredictHandler;
import dev.streamtune.serving.internal.PromotionFollower;
import dev.streamtune.serving.internal.ServingMetrics;
import dev.streamtune.serving.internal.ServingRejection;
import dev.streamtune.serving.internal.ShadowScorer;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.List;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inference service: answers {@code POST /predict} and the Open Inference Protocol (KServe V2) over REST (under
 * {@code /v2}) and over gRPC ({@code inference.GRPCInferenceService} on {@link ServingConfig#grpcPort()}, unless turned off) with
 * the model currently promoted for {@code streamtune.model} (or, on {@code /v2} and gRPC, a pinned version still loaded), through
 * micro-batches on one inference thread shared by every protocol, follows the {@code promotions} topic to hot-swap verified and warmed-up versions, and
 * publishes a prediction and an input event for every answer. Unless {@code streamtune.serving.shadow.share} is 0, it also follows
 * {@code candidates} and scores the newest candidate of the serving version in the shadow, on a share of the answered images,
 * off the request path, publishing the comparison on {@code shadow} and as {@code streamtune_serving_shadow_*} meters. Also serves {@code /metrics}, {@code /health/live} and
 * {@code /health/ready}.
 *
 * <p>Lifecycle: {@link #start()} once, {@link #close()} once. The service reports {@link ServiceState#STARTING} until a model is
 * loaded and warm, then {@link ServiceState#RUNNING}; {@link ServiceState#DRAINING} while closing, {@link ServiceState#STOPPED}
 * after, {@link ServiceState#FAILED} when start-up failed (the exception says why). Kafka being unreachable never fails a
 * request. The accessors are thread-safe.
 */
public final class ServingService implements AutoCloseable {
  private List<KafkaClientMetrics> clientMetrics = List.of();
  private static final Logger log = LoggerFactory.getLogger(ServingService.class);
  /** How often an empty store or an unreachable broker is tried again. */
  private static final Duration RETRY = Duration.ofSeconds(3);

  private final ServingConfig config;
  private final PrometheusMeterRegistry registry;
  private final ModelHolder models;
  private final Lifecycle lifecycle = new Lifecycle("serving");
  private final String clientId;
  private volatile ServiceHttp http;
  private volatile GrpcEndpoint grpc;
  private RejectedRecords rejected;
  private EventPublisher events;
  private volatile InferenceBatcher batcher;
  private PromotionFollower follower;
  private CandidateFollower candidates;
  private ShadowScorer shadow;
  private org.apache.kafka.clients.producer.KafkaProducer<String, dev.streamtune.core.records.ShadowScore> shadowProducer;
  private volatile ServingMetrics metrics;
  private boolean started;

  /** Builds the service; nothing is opened until {@link #start()}. */
  public ServingService(ServingConfig config) {
    Dl4jRuntime.init();
    this.config = Objects.requireNonNull(config, "config");
    this.registry = Metrics.newRegistry("serving");
    this.models = new ModelHolder(config.versionsKeep());
    this.clientId = "streamtune-serving-" + config.common().model() + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /**
   * Opens the model store, starts the inference worker, the promotion follower and HTTP. Returns once HTTP listens; the service
   * becomes ready when the first model is loaded and warm.
   *
   * @throws IllegalStateException when called twice, or when the port cannot be bound (the state is then {@code FAILED})
   */
  public synchronized void start() {
    if (started) {
      throw new IllegalStateException("serving was already started");
    }
    started = true;
    CommonConfig common = config.common();
    String model = common.model();
    try {
      // bind first: a taken port fails start-up before any client is opened
      http = new ServiceHttp("serving", config.host(), config.port(), config.httpThreads(), registry, this::state,
          common.httpTls());
      http.reportCause(lifecycle::cause);
      http.requireBearerToken(common.httpToken());
      DirectoryModelStore store = new DirectoryModelStore(common.storeDir());
      ServingMetrics metrics = new ServingMetrics(model);
      metrics.bindTo(registry);
      this.metrics = metrics;

      rejected = new RejectedRecords(common.kafka(), clientId, TopicReader.SERVING, common.topics(), registry);
      var predictionsProducer = EventPublisher.producer(common.kafka(), clientId + "-predictions", common.topics().predictions);
      var inputsProducer = EventPublisher.producer(common.kafka(), clientId + "-inputs", common.topics().inputs);
      // the Kafka clients' own meters (send errors, retries, buffer), as the Streams apps export theirs
      clientMetrics = List.of(new KafkaClientMetrics(predictionsProducer), new KafkaClientMetrics(inputsProducer));
      clientMetrics.forEach(m -> m.bindTo(registry));
      events = new EventPublisher(predictionsProducer, inputsProducer, common.topics().predictions, common.topics().inputs,
          Math.max(1024, config.queueMax() * 4), metrics);
      ServingConfig.Shadow shadowConfig = config.shadow();
      if (shadowConfig.enabled()) {
        shadowProducer = EventPublisher.producer(common.kafka(), clientId + "-shadow", common.topics().shadow);
        shadow = new ShadowScorer(model, clientId, shadowConfig.share(), shadowConfig.queueMax(), shadowConfig.summaryInputs(),
            shadowConfig.summaryInterval(), metrics, ShadowScorer.toKafka(shadowProducer, common.topics().shadow, metrics),
            Clock.systemUTC());
        candidates = new CandidateFollower(rawConsumer(common, "-candidates"), common.topics().candidates.name(), model, store,
            models, shadow, rejected, metrics, config.batchMax(), RETRY);
      }
      batcher = new InferenceBatcher(models, config.batchMax(), config.batchWait(), config.queueMax(), config.workers(), metrics,
          shadow);
      InferenceBatcher answering = batcher;
      ModelSwapper swapper = new ModelSwapper(store, model, models, config.batchMax(), metrics, answering::recent,
          answering::replicate);
      follower = new PromotionFollower(rawConsumer(common, "-promotions"), common.topics().promotions.name(), model, swapper,
          models, rejected, new PromotionCheck(store, registry, "serving", model), RETRY, config.swapMinInterval(), metrics);
      http.route(PredictHandler.PATH,
          new PredictHandler(models, batcher, events, metrics, config.topK(), config.bodyMaxBytes(), Clock.systemUTC()));
      OpenInference openInference = new OpenInference(model, models, batcher, events, metrics, config.topK(),
          config.bodyMaxBytes(), this::state, Clock.systemUTC());
      http.route(OpenInferenceHandler.PATH, new OpenInferenceHandler(openInference, models, metrics, config.bodyMaxBytes()));
      if (config.grpcEnabled()) {
        // the same limits as HTTP: as many threads, messages no larger than a request body, the same token and TLS
        grpc = new GrpcEndpoint(new GrpcInferenceService(openInference, models, metrics), config.host(), config.grpcPort(),
            config.httpThreads(), config.bodyMaxBytes(), common.httpToken(), common.httpTls());
        grpc.start();
      }

      batcher.start();
      follower.start();
      if (shadow != null) {
        shadow.start();
        candidates.start();
      }
      http.start();
      lifecycle.to(ServiceState.RUNNING);
      log.info("serving {} on http://{}:{}{} and {}, gRPC {} (batch max {}, wait {} ms, queue {}, {} inference worker(s), keeping {} previous versions);"
          + " following {} from {}; shadow scoring {}; store {}", model, config.host(), http.port(), PredictHandler.PATH,
          OpenInferenceHandler.PATH + "/models/" + model, grpc == null ? "off" : config.host() + ":" + grpc.port(),
          config.batchMax(), config.batchWait().toMillis(), config.queueMax(), config.workers(), config.versionsKeep(),
          common.topics().promotions.name(), common.bootstrap(), shadowConfig.enabled() ? "of " + shadowConfig.share()
              + " of the answered images by the newest candidate on " + common.topics().candidates.name() + ", published on "
              + common.topics().shadow.name() : "off", store.root());
    } catch (RuntimeException e) {
      lifecycle.fail("start-up failed", e);
      log.error("serving {} failed to start: {}", model, e.getMessage());
      closeParts();
      throw e;
    }
  }

  /**
   * A consumer of {@code promotions} or {@code candidates}: raw bytes (parsed by the follower, so one bad record is rejected,
   * not retried forever), no group (every node reads the whole topic), and no topic auto-creation, which would make
   * {@code promotions} without compaction if serving started before it existed.
   */
  private KafkaConsumer<String, byte[]> rawConsumer(CommonConfig common, String suffix) {
    return KafkaSupport.rawConsumer(common.kafka(), clientId + suffix, null,
        Map.of(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false));
  }

  /**
   * {@code RUNNING} only once started and a warm model serves; {@code STARTING} before. Thread-safe.
   */
  public ServiceState state() {
    ServiceState s = lifecycle.get();
    return s == ServiceState.RUNNING && models.current() == null ? ServiceState.STARTING : s;
  }

  /** The port HTTP listens on (the free one picked when configured as 0). */
  public int port() {
    ServiceHttp http = this.http;
    if (http == null) {
      throw new IllegalStateException("serving is not started");
    }
    return http.port();
  }

  /**
   * The port the Open Inference Protocol's gRPC service listens on (the free one picked when configured as 0).
   *
   * @throws IllegalStateException before {@link #start()}, or when gRPC is off ({@value ServingConfig#GRPC_PORT} = -1)
   */
  public int grpcPort() {
    GrpcEndpoint grpc = this.grpc;
    if (grpc == null) {
      throw new IllegalStateException(config.grpcEnabled() ? "serving is not started" : "gRPC is off (" + ServingConfig.GRPC_PORT
          + "=" + ServingConfig.GRPC_OFF + ")");
    }
    return grpc.port();
  }

  /** The version answering new requests, empty before the first model is loaded. */
  public OptionalInt servingVersion() {
    return models.version();
  }

  /** The spec of the model answering new requests, or null before the first one. */
  public ModelSpec spec() {
    LoadedModel m = models.current();
    return m == null ? null : m.spec();
  }

  /**
   * Answers one image in-process, through the same micro-batcher (and so the same batches) as the HTTP endpoints, by the version
   * serving when its batch runs; no HTTP, and no prediction or input event is published. For embedding serving in a JVM and for
   * measuring the batching path without HTTP. Never blocks: the answer completes on the inference worker. Thread-safe.
   *
   * @param pixels the image as the serving model takes it after preprocessing: channel-major {@code [C,H,W]} values (for the
   *     grey CNN, grey levels in [0,1] row by row)
   * @param topK how many labels to answer (at most the model's label count are)
   * @return the answer; completed exceptionally when the request is refused after it was queued (e.g. a model of another input
   *     size was swapped in meanwhile) or inference failed
   * @throws IllegalStateException when no model serves yet, the queue is full or serving is shutting down
   * @throws IllegalArgumentException when {@code pixels} does not fit the serving model or {@code topK < 1}
   */
  public CompletableFuture<Answer> infer(float[] pixels, int topK) {
    Objects.requireNonNull(pixels, "pixels");
    InferenceBatcher b = batcher;
    LoadedModel m = models.current();
    if (b == null || m == null) {
      throw new IllegalStateException("serving " + config.common().model() + " has no model loaded yet");
    }
    ModelSpec spec = m.spec();
    if (pixels.length != spec.imageSize()) {
      throw new IllegalArgumentException("pixels holds " + pixels.length + " values; " + m.model() + " v" + m.version()
          + " takes " + spec.channels() + "x" + spec.height() + "x" + spec.width() + " = " + spec.imageSize());
    }
    try {
      return b.submit(null, pixels, spec, topK).thenApply(i -> new Answer(i.model(), i.version(), i.topK(), i.batchSize()));
    } catch (ServingRejection e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }

  /** The node's counters since start (all zero before {@link #start()}). Thread-safe. */
  public ServingStats stats() {
    ServingMetrics m = metrics;
    if (m == null) {
      return new ServingStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }
    double[] jitter = m.swapJitter();
    return new ServingStats(m.batchCalls(), m.batchedRequests(), m.loads(), m.loadSeconds(), m.swaps(), m.failedSwaps(),
        m.eventsFailed(), m.superseded(), (long) jitter[0], jitter[0] * jitter[1]);
  }

  /** The registry {@code /metrics} renders. */
  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** The configuration this service was built from. */
  public ServingConfig config() {
    return config;
  }

  /**
   * Stops following promotions, refuses new requests (503, gRPC {@code UNAVAILABLE}) while answering those already queued, then
   * stops gRPC and HTTP and flushes the events. Idempotent.
   */
  @Override
  public synchronized void close() {
    ServiceState s = lifecycle.get();
    if (s == ServiceState.STOPPED) {
      return;
    }
    if (s != ServiceState.FAILED) {
      lifecycle.to(ServiceState.DRAINING);
    }
    closeParts();
    registry.close();
    if (s != ServiceState.FAILED) {
      lifecycle.to(ServiceState.STOPPED);
    }
    log.info("serving {} stopped", config.common().model());
  }

  private void closeParts() {
    // order matters: no swap during the drain, queued requests answered while HTTP can still write them, the shadow's last
    // window after the last batch, events last
    var shadowProducer = this.shadowProducer;
    AutoCloseable shadowEvents = shadowProducer == null ? null : () -> shadowProducer.close(Duration.ofSeconds(5));
    for (AutoCloseable c : new AutoCloseable[] {candidates, follower, batcher, shadow, shadowEvents, grpc, http, events,
        rejected}) {
      if (c == null) {
        continue;
      }
      try {
        c.close();
      } catch (Exception e) {
        log.warn("closing {} failed: {}", c.getClass().getSimpleName(), e.toString());
      }
    }
    clientMetrics.forEach(KafkaClientMetrics::close);
  }
}
