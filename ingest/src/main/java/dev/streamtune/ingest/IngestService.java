package dev.streamtune.ingest;

import dev.streamtune.core.Lifecycle;
import dev.streamtune.core.ServiceState;
import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.http.ServiceHttp;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.kafka.KafkaClients;
import dev.streamtune.core.kafka.ConsumerGroupLag;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.metrics.Metrics;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Networks;
import dev.streamtune.ingest.internal.FeedbackRoute;
import dev.streamtune.ingest.internal.FeedbackValidator;
import dev.streamtune.ingest.internal.IngestMetrics;
import dev.streamtune.ingest.internal.IngestStreamsConfig;
import dev.streamtune.ingest.internal.LabelSet;
import dev.streamtune.ingest.internal.LabellingInbox;
import dev.streamtune.ingest.internal.LabellingRoute;
import dev.streamtune.ingest.internal.SampleValidator;
import dev.streamtune.ingest.internal.SamplesRoute;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ingest service: one Kafka Streams app running {@link IngestTopology} and an HTTP server with {@code POST /samples},
 * {@code POST /feedback}, the labelling queue ({@code /labelling/...}, {@link LabellingRoute}, fed by a {@link LabellingInbox}
 * thread on {@code labelling.requests}), {@code /metrics}, {@code /health/live} and {@code /health/ready}.
 *
 * <p>Life: {@link ServiceState#STARTING} until the Streams app first reaches RUNNING, then {@link ServiceState#RUNNING} (also
 * through later rebalances, while HTTP keeps taking requests); {@link ServiceState#FAILED} when the Streams app dies of an
 * unexpected error (logged with its cause); {@link ServiceState#DRAINING} while closing, then {@link ServiceState#STOPPED}.
 * A bad record never stops it: see {@link IngestTopology}.
 *
 * <p>The label set comes from the newest stored version's manifest in the model store, or {@link FashionMnist#LABELS} when there is no
 * model yet. {@link #start()} creates missing topics. {@code start} and {@code close} are for one owner thread; {@link #state()}
 * and {@link #port()} may be called from any thread.
 */
public final class IngestService implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(IngestService.class);
  /** How long an HTTP request waits for Kafka to acknowledge its record before answering 503. */
  static final Duration SEND_TIMEOUT = Duration.ofSeconds(15);
  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(30);
  private static final int HTTP_THREADS = 8;

  private final IngestConfig cfg;
  private final PrometheusMeterRegistry registry;
  private final Clock clock;
  private final Lifecycle state = new Lifecycle("ingest");
  private boolean started;
  private KafkaStreams streams;
  private KafkaStreamsMetrics streamsMetrics;
  private ConsumerGroupLag lag;
  private KafkaProducer<String, byte[]> producer;
  private ServiceHttp http;
  private LabellingInbox inbox;
  private Thread inboxThread;
  /** The most labelling requests one instance keeps waiting (the lowest dropped beyond). */
  static final int LABELLING_MAX = 10_000;

  /** Creates the service; nothing is opened until {@link #start()}. */
  public IngestService(IngestConfig cfg) {
    this(cfg, Clock.systemUTC());
  }

  /** Creates the service with a clock for the timestamps of HTTP feedback and samples. */
  public IngestService(IngestConfig cfg, Clock clock) {
    this.cfg = Objects.requireNonNull(cfg, "cfg");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.registry = Metrics.newRegistry("ingest");
  }

  /**
   * Creates missing topics, starts the Streams app and the HTTP server; returns without waiting for the app to be RUNNING (see
   * {@link #state()}).
   *
   * @throws IllegalStateException when called twice, when topics cannot be created or the HTTP port cannot be bound
   */
  public synchronized void start() {
    if (started) {
      throw new IllegalStateException("the ingest service was already started");
    }
    started = true;
    try {
      ModelSpec spec = spec(cfg);
      List<String> labels = spec.labels();
      CommonConfig common = cfg.common();
      KafkaSupport.ensureTopics(common.kafka(), common.topics(), common.partitions(), common.replication(),
          Duration.ofSeconds(30));

      IngestMetrics metrics = new IngestMetrics(registry, common.topics());
      streams = new KafkaStreams(IngestTopology.build(cfg, spec, registry), IngestStreamsConfig.properties(cfg, metrics));
      streams.setStateListener((now, before) -> {
        log.info("ingest stream {} -> {}", before, now);
        if (now == KafkaStreams.State.RUNNING) {
          state.to(ServiceState.RUNNING); // a rebalance later keeps the service RUNNING: its HTTP routes still answer
        } else if (now == KafkaStreams.State.ERROR) {
          state.fail("the ingest stream stopped", null);
        }
      });
      streams.setUncaughtExceptionHandler(e -> {
        log.error("ingest stream failed; stopping it (restart the service once the cause is fixed)", e);
        state.fail("the ingest stream failed", e);
        return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
      });
      streamsMetrics = new KafkaStreamsMetrics(streams);
      streamsMetrics.bindTo(registry);
      lag = new ConsumerGroupLag(common.kafka(), List.of(cfg.applicationId()), ConsumerGroupLag.DEFAULT_INTERVAL);
      lag.bindTo(registry);

      producer = httpProducer(common.kafka(), cfg.applicationId(), common.topics());
      LabelSet labelSet = new LabelSet(labels, cfg.allowNewLabels(), cfg.maxNewLabels());
      http = new ServiceHttp("ingest", cfg.host(), cfg.port(), HTTP_THREADS, registry, this::state,
          cfg.common().httpTls());
      http.reportCause(state::cause);
      http.requireBearerToken(cfg.common().httpToken());
      http.route(SamplesRoute.PATH, new SamplesRoute(new SampleValidator(labelSet, IngestTopology.images(cfg, spec)), producer, common.topics(),
          cfg.bodyMaxBytes(), metrics, clock, SEND_TIMEOUT));
      http.route(FeedbackRoute.PATH, new FeedbackRoute(new FeedbackValidator(labelSet), producer, common.topics(),
          cfg.bodyMaxBytes(), metrics, clock, SEND_TIMEOUT));
      // a request older than the join window could no longer join its input: that is how long one waits here
      inbox = new LabellingInbox(common.kafka(), cfg.applicationId(), common.topics(), cfg.joinWindow(), LABELLING_MAX, clock,
          registry);
      http.route(LabellingRoute.PATH, new LabellingRoute(inbox, labelSet::labels, new FeedbackValidator(labelSet), producer,
          common.topics(), cfg.bodyMaxBytes(), metrics, clock, SEND_TIMEOUT));
      inboxThread = new Thread(inbox, "ingest-labelling");
      inboxThread.setDaemon(true);
      inboxThread.start();

      streams.start();
      http.start();
      log.info("ingest started: HTTP on {}:{}, application {}, {} labels{}, join window {}, Kafka {}", cfg.host(), http.port(),
          cfg.applicationId(), labels.size(), cfg.allowNewLabels() ? " (new labels allowed, at most " + cfg.maxNewLabels() + ")"
              : "", cfg.joinWindow(), common.bootstrap());
    } catch (RuntimeException e) {
      state.fail("start failed", e);
      closeResources();
      throw e;
    }
  }

  /**
   * The service's state ({@link Lifecycle}): RUNNING once the Streams app ran (a later rebalance keeps it RUNNING), FAILED with
   * its cause when the app died or the start failed, DRAINING and STOPPED on close.
   */
  public ServiceState state() {
    return state.get();
  }


  /** The bound HTTP port (the real one when configured as 0). */
  public int port() {
    ServiceHttp h = http;
    if (h == null) {
      throw new IllegalStateException("the ingest service is not started");
    }
    return h.port();
  }

  /** The service's meter registry, as served on {@code /metrics}. */
  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** Stops HTTP first (no new requests), then the Streams app and the producer. Idempotent. */
  @Override
  public synchronized void close() {
    if (state.get() == ServiceState.STOPPED) {
      return;
    }
    state.to(ServiceState.DRAINING);
    closeResources();
    state.to(ServiceState.STOPPED);
    log.info("ingest stopped");
  }

  private void closeResources() {
    if (http != null) {
      http.close();
      http = null;
    }
    if (inbox != null) {
      inbox.close();
      try {
        inboxThread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      inbox = null;
    }
    if (streams != null) {
      if (!streams.close(KafkaSupport.closeAndLeave(CLOSE_TIMEOUT))) {
        log.warn("the ingest stream did not stop within {}", CLOSE_TIMEOUT);
      }
    }
    if (lag != null) {
      lag.close();
      lag = null;
    }
    if (streamsMetrics != null) {
      streamsMetrics.close();
      streamsMetrics = null;
    }
    if (producer != null) {
      producer.close(Duration.ofSeconds(10));
      producer = null;
    }
  }

  /**
   * What samples are validated against: the newest stored version's spec when the store holds the configured model (its label
   * set, input size, channels and resize policy; label sets only grow, new classes being appended), else the built-in CNN's
   * for Fashion-MNIST (28x28 grey, its ten labels).
   */
  static ModelSpec spec(IngestConfig cfg) {
    String model = cfg.common().model();
    Optional<Manifest> latest = new DirectoryModelStore(cfg.common().storeDir()).latest(model);
    if (latest.isEmpty()) {
      log.info("no model '{}' in {} yet: validating samples as Fashion-MNIST's (28x28 grey, its labels)", model,
          cfg.common().storeDir());
      return Networks.spec(FashionMnist.SIDE, FashionMnist.LABELS, Networks.DEFAULT_FREEZE_BOUNDARY);
    }
    ModelSpec spec = latest.get().spec();
    log.info("validating samples against {} v{}: {}x{}x{} ({}), resize {}, {} labels", model, latest.get().version(),
        spec.channels(), spec.height(), spec.width(), spec.layout(), spec.resize().id(), spec.labels().size());
    return spec;
  }

  // Core's producer with short timeouts: an HTTP request should fail fast with 503 rather than block for minutes when Kafka is
  // down. One producer of raw String/bytes records serves both routes (samples.raw and feedback, whose JSON the route encodes).
  private static KafkaProducer<String, byte[]> httpProducer(KafkaClients bootstrap, String applicationId, Topics topics) {
    return KafkaSupport.producer(bootstrap, applicationId + "-http", topics.samplesRaw, Map.of(
        ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) SEND_TIMEOUT.toMillis(),
        ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
        ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) SEND_TIMEOUT.toMillis()));
  }
}
