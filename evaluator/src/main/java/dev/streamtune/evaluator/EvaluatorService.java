package dev.streamtune.evaluator;

import dev.streamtune.core.Lifecycle;
import dev.streamtune.core.ServiceState;
import dev.streamtune.core.http.ServiceHttp;
import dev.streamtune.core.kafka.ConsumerGroupLag;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.StreamsErrorHandlers;
import dev.streamtune.core.metrics.Metrics;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.Dl4jRuntime;
import dev.streamtune.evaluator.internal.EvaluatorMeters;
import dev.streamtune.evaluator.internal.FeatureDriftWorker;
import dev.streamtune.evaluator.internal.GateWorker;
import dev.streamtune.evaluator.internal.LiveAccuracy;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The evaluator: the monitoring topology (live accuracy, drift) as a Kafka Streams app and the promotion gate on its own thread,
 * with {@code /metrics} and health over HTTP. Ready when the Streams app runs and the gate has caught up.
 */
public final class EvaluatorService implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EvaluatorService.class);
  /** The service name: the {@code service} tag of its meters. */
  static final String SERVICE = "evaluator";
  private final EvaluatorConfig cfg;
  private final PrometheusMeterRegistry registry = Metrics.newRegistry(SERVICE);
  private final EvaluatorMeters meters;
  private final LiveAccuracy live;
  private final Lifecycle state = new Lifecycle(SERVICE);
  private KafkaStreams streams;
  private GateWorker gate;
  private Thread gateThread;
  private FeatureDriftWorker features;
  private Thread featuresThread;
  private ServiceHttp http;
  private ConsumerGroupLag lag;

  public EvaluatorService(EvaluatorConfig cfg) {
    Dl4jRuntime.init();
    this.cfg = cfg;
    this.meters = new EvaluatorMeters(cfg);
    // a version first seen served (a prediction or an outcome) gets its loop-event counters at 0 before any event on it
    this.live = new LiveAccuracy(registry, (model, version) -> meters.bindVersion(registry, model, version));
  }

  public void start() {
    KafkaSupport.ensureTopics(cfg.common().kafka(), cfg.common().topics(), cfg.common().partitions(),
        cfg.common().replication(), Duration.ofSeconds(60));
    DirectoryModelStore store = new DirectoryModelStore(cfg.common().storeDir());
    streams = new KafkaStreams(EvaluatorTopology.build(cfg, registry, live, storedLabels(store)),
        streamsProperties(cfg, stateDir(), registry));
    new KafkaStreamsMetrics(streams).bindTo(registry);
    lag = new ConsumerGroupLag(cfg.common().kafka(), List.of(cfg.applicationId(), GateWorker.groupId(cfg)),
        ConsumerGroupLag.DEFAULT_INTERVAL);
    lag.bindTo(registry);
    meters.bindTo(registry);
    streams.setUncaughtExceptionHandler(e -> {
      log.error("evaluator topology failed", e);
      state.fail("the monitoring topology failed", e);
      return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    streams.start();
    gate = new GateWorker(cfg, store, registry, Clock.systemUTC());
    gateThread = worker(gate, "evaluator-gate");
    if (cfg.features().enabled()) {
      features = new FeatureDriftWorker(cfg, store, registry, live, Clock.systemUTC());
      featuresThread = worker(features, "evaluator-features");
    }
    http = new ServiceHttp(SERVICE, cfg.host(), cfg.port(), 4, registry, this::state, cfg.common().httpTls());
    http.reportCause(state::cause);
    http.requireBearerToken(cfg.common().httpToken());
    http.start();
    log.info("evaluator started for model {}: HTTP on {}:{}, application {}, detectors {}, Kafka {}", cfg.common().model(),
        cfg.host(), http.port(), cfg.applicationId(), EvaluatorMeters.detectors(cfg), cfg.common().bootstrap());
  }

  /** Starts a worker on a daemon thread; a worker that stops on an unexpected error marks the service FAILED. */
  private Thread worker(Runnable work, String name) {
    Thread t = new Thread(() -> {
      try {
        work.run();
      } catch (RuntimeException e) {
        log.error("evaluator {} stopped", name, e);
        state.fail(name + " stopped", e);
      }
    }, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  /** The Streams record cache, used by the monitor stores (the only stores with caching enabled). */
  static final long STATE_CACHE_BYTES = 4L << 20;

  /**
   * The Streams properties of the monitoring topology, shared with its tests: core's basics (exactly once by default), a short
   * commit interval, a record cache of {@value #STATE_CACHE_BYTES} bytes for the two monitor stores only (the processors
   * forward each outcome's drift themselves, so live accuracy and drift still follow each outcome; without it every record
   * wrote its model's whole 4–7 KB state to the changelog), and core's error handlers, which dead-letter an
   * unusable record to {@code records.rejected} and count it as {@code streamtune.stream.errors{service=evaluator,kind}} on
   * {@code registry}.
   */
  static Properties streamsProperties(EvaluatorConfig cfg, Path stateDir, MeterRegistry registry) {
    Properties p = KafkaSupport.streamsProps(cfg.common(), cfg.applicationId(), stateDir);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 500);
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, STATE_CACHE_BYTES);
    p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
    return StreamsErrorHandlers.addTo(p, SERVICE, cfg.common().topics().recordsRejected, registry);
  }

  private Path stateDir() {
    try {
      return cfg.stateDir() != null ? Files.createDirectories(cfg.stateDir())
          : Files.createTempDirectory("streamtune-evaluator-");
    } catch (IOException e) {
      throw new IllegalStateException("cannot create the evaluator state dir: " + e.getMessage(), e);
    }
  }

  /**
   * Each stored version's labels, read once from its manifest (a version is immutable); empty for one the store does not
   * hold or a name it refuses, so nothing a record names grows the cache.
   */
  static EvaluatorTopology.Labels storedLabels(DirectoryModelStore store) {
    java.util.Map<String, java.util.List<String>> known = new java.util.concurrent.ConcurrentHashMap<>();
    return (model, version) -> {
      String key = model + "@" + version;
      java.util.List<String> labels = known.get(key);
      if (labels != null) {
        return labels;
      }
      try {
        return store.manifest(model, version).map(m -> {
          known.put(key, m.spec().labels());
          return m.spec().labels();
        }).orElse(java.util.List.of());
      } catch (RuntimeException e) {
        return java.util.List.of();
      }
    };
  }

  /** RUNNING once the topology runs, the gate has caught up with its state topics and the feature check knows the champion. */
  public ServiceState state() {
    ServiceState s = state.get();
    if (s == ServiceState.STARTING && streams != null && streams.state() == KafkaStreams.State.RUNNING && gate.caughtUp()
        && (features == null || features.caughtUp())) {
      state.to(ServiceState.RUNNING);
    }
    return state.get();
  }

  public int port() {
    return http.port();
  }

  /** The live windowed accuracy of a model version (NaN when no outcome was seen). */
  public double liveAccuracy(String model, int version) {
    return live.get(model, version);
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  @Override
  public void close() {
    state.to(ServiceState.DRAINING);
    if (http != null) {
      http.close();
    }
    if (gate != null) {
      gate.stop();
      try {
        gateThread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (features != null) {
      features.stop();
      try {
        featuresThread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (streams != null) {
      streams.close(KafkaSupport.closeAndLeave(Duration.ofSeconds(10)));
    }
    if (lag != null) {
      lag.close();
    }
    state.to(ServiceState.STOPPED);
  }
}
