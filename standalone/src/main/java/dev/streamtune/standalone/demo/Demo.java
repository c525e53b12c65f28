package dev.streamtune.standalone.demo;

import com.fasterxml.jackson.databind.JsonNode;
import dev.streamtune.core.ServiceState;
import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.image.ColourRendering;
import dev.streamtune.core.image.Corruption;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.Networks;
import dev.streamtune.evaluator.EvaluatorConfig;
import dev.streamtune.evaluator.EvaluatorService;
import dev.streamtune.ingest.IngestConfig;
import dev.streamtune.ingest.IngestService;
import dev.streamtune.serving.ServingConfig;
import dev.streamtune.serving.ServingService;
import dev.streamtune.trainer.Pretrainer;
import dev.streamtune.trainer.TrainerConfig;
import dev.streamtune.trainer.TrainerService;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The domain-shift story, end to end in one process: an embedded KRaft broker, the four services, clients that send clean
 * images, then images of a shifted domain, and labellers who answer a share of the predictions after a delay. It reports what
 * the loop did — drift, candidate, gate verdict, swap — and the accuracies measured against the demo's own ground truth.
 * With {@link DemoOptions#against()} the same story drives a running deployment (separate processes) over its HTTP endpoints
 * and Kafka instead.
 */
public final class Demo {
  private static final Logger log = LoggerFactory.getLogger(Demo.class);
  /** The longest the demo waits for the loop with no traffic left to send (a cold split trainer took up to 110 s). */
  static final Duration WAIT_WITHOUT_TRAFFIC = Duration.ofMinutes(3);

  private final DemoOptions o;
  private final String model;
  private final long t0 = System.nanoTime();
  private final Instant startedAt = Instant.now();
  /** Every answer of every phase, for the report's accuracy over time. */
  private final List<Served> allServed = java.util.Collections.synchronizedList(new ArrayList<>());
  private volatile Double shiftSeconds;
  private final List<String> timeline = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final AtomicInteger failed = new AtomicInteger();
  private final AtomicInteger shiftedFeedbackSent = new AtomicInteger();
  /** Prediction ids of the shifted images served (the demo's ground truth for the labelling queue's figures). */
  private final java.util.Set<String> shiftedIds = java.util.concurrent.ConcurrentHashMap.newKeySet();
  /**
   * The evaluator's {@code /metrics} when the demo runs it or was given its URL (the accuracy estimate is read there); else
   * null.
   */
  private volatile URI evaluatorMetrics;
  private volatile Double sourceEstimate;
  private volatile Double shiftedEstimate;
  /** Every estimate read, for the report's chart. */
  private final List<DemoReport.Estimate> estimates = java.util.Collections.synchronizedList(new ArrayList<>());
  private volatile int baseVersionAtShift = -1;
  /** The model version of the latest answer: what serving serves, as its clients see it. */
  private final AtomicInteger answeredVersion = new AtomicInteger(-1);
  /** The model name of the latest answer. */
  private volatile String answeredModel;

  private Demo(DemoOptions o) {
    this.o = o;
    this.model = o.pretrain().arch().defaultModel();
  }

  /** Runs the demo; never throws for a loop that did not close (the summary says why), only for a broken environment. */
  public static DemoSummary run(DemoOptions o) {
    return new Demo(o).run();
  }

  /** One served request, with the demo's ground truth. */
  record Served(String phase, String predictionId, int version, String predicted, String truth, long atNanos) {
    boolean correct() {
      return predicted.equals(truth);
    }
  }

  private void say(String line) {
    String l = String.format("[%6.1fs] %s", (System.nanoTime() - t0) / 1e9, line);
    timeline.add(l);
    o.out().accept(l);
  }

  private double seconds() {
    return (System.nanoTime() - t0) / 1e9;
  }

  private DemoSummary run() {
    say("loading Fashion-MNIST from " + o.dataDir());
    FashionMnist.Split train = FashionMnist.train(o.dataDir());
    FashionMnist.Split test = FashionMnist.test(o.dataDir());
    if (o.against() != null) {
      return runAgainst(train, test, o.against());
    }
    DirectoryModelStore baseStore = new DirectoryModelStore(o.workDir().resolve("base"));
    say("backbone " + o.pretrain().arch().id() + " (model " + model + ")");
    Manifest base = Pretrainer.ensureBase(baseStore, model, train, test, o.pretrain(), this::say);

    Path runDir = o.workDir().resolve("runs").resolve(LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    Path storeDir = runDir.resolve("store");
    copyDir(baseStore.dir(model, base.version()), storeDir.resolve(model).resolve(Integer.toString(base.version())));
    say("run directory " + runDir + " (model store, service state)");

    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().port(0).build().start()) {
      say("embedded KRaft broker on " + broker.bootstrapServers());
      Map<String, String> m = new HashMap<>();
      m.put("streamtune.bootstrap", broker.bootstrapServers());
      m.put("streamtune.store.dir", storeDir.toString());
      m.put("streamtune.model", model);
      m.put("streamtune.serving.port", "0");
      m.put("streamtune.serving.grpc-port", "0");
      m.put("streamtune.ingest.port", "0");
      m.put("streamtune.evaluator.port", "0");
      m.put("streamtune.trainer.port", "0");
      m.put("streamtune.ingest.state.dir", runDir.resolve("state/ingest").toString());
      m.put("streamtune.evaluator.state.dir", runDir.resolve("state/evaluator").toString());
      // the demo compresses time: when the gate rejects the first candidate (its guard drop is close to the limit on some
      // runs), the retry on more samples comes within the run instead of after the services' 30 s cool-down
      m.put("streamtune.trainer.cooldown", "5s");
      m.putAll(o.settings());
      Settings settings = Settings.of(m);
      Topics topics = new Topics(settings.string("streamtune.topic.prefix", Topics.DEFAULT_PREFIX));
      KafkaSupport.ensureTopics(broker.bootstrapServers(), topics, 1, (short) 1, Duration.ofSeconds(30));
      try (IngestService ingest = new IngestService(IngestConfig.from(settings));
          EvaluatorService evaluator = new EvaluatorService(EvaluatorConfig.from(settings));
          TrainerService trainer = new TrainerService(TrainerConfig.from(settings));
          ServingService serving = new ServingService(ServingConfig.from(settings));
          LoopWatcher watcher = new LoopWatcher(broker.bootstrapServers(), topics, this::say, shiftedFeedbackSent::get, t0,
              false, shiftedIds::contains)) {
        ingest.start();
        evaluator.start();
        trainer.start();
        serving.start();
        watcher.start();
        waitFor("services ready", Duration.ofSeconds(120), () -> ingest.state() == ServiceState.RUNNING
            && evaluator.state() == ServiceState.RUNNING && trainer.state() == ServiceState.RUNNING
            && serving.state() == ServiceState.RUNNING);
        say(String.format("services ready: serving :%d (v%s; gRPC %s), ingest :%d, evaluator :%d, trainer :%d", serving.port(),
            serving.servingVersion().orElse(-1), serving.config().grpcEnabled() ? ":" + serving.grpcPort() : "off", ingest.port(),
            evaluator.port(), trainer.port()));
        evaluatorMetrics = URI.create("http://localhost:" + evaluator.port() + "/metrics");
        DemoSummary summary = story(train, test, topics, broker.bootstrapServers(),
            URI.create("http://localhost:" + serving.port()), URI.create("http://localhost:" + ingest.port()), watcher, runDir);
        saveMetrics(runDir.resolve("metrics"), Map.of("serving", serving.port(), "ingest", ingest.port(), "evaluator",
            evaluator.port(), "trainer", trainer.port()));
        return o.report() ? writeReport(summary, watcher, runDir.resolve("report")) : summary;
      }
    }
  }

  /**
   * The story against a deployment that runs already: the services are separate processes (`streamtune broker`, `ingest`,
   * `evaluator`, `trainer`, `serving`), their model store holds the base. The watcher starts at the topics' ends, so an earlier
   * run's events do not count; the report is written, the services' metrics are theirs to scrape.
   */
  private DemoSummary runAgainst(FashionMnist.Split train, FashionMnist.Split test, DemoOptions.Against a) {
    Path runDir = o.workDir().resolve("runs").resolve(LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    Settings settings = Settings.of(o.settings());
    Topics topics = new Topics(settings.string("streamtune.topic.prefix", Topics.DEFAULT_PREFIX));
    say("driving the deployment at " + a.bootstrap() + " (serving " + a.serving() + ", ingest " + a.ingest()
        + (a.evaluator() == null ? "" : ", evaluator " + a.evaluator()) + ")");
    if (a.evaluator() != null) {
      evaluatorMetrics = a.evaluator().resolve("/metrics");
    }
    waitFor("serving and ingest ready (GET /health/ready)", Duration.ofSeconds(120),
        () -> ready(a.serving()) && ready(a.ingest()));
    try (LoopWatcher watcher = new LoopWatcher(a.bootstrap(), topics, this::say, shiftedFeedbackSent::get, t0, true,
        shiftedIds::contains)) {
      watcher.start();
      DemoSummary summary = story(train, test, topics, a.bootstrap(), a.serving(), a.ingest(), watcher, runDir);
      return o.report() ? writeReport(summary, watcher, runDir.resolve("report")) : summary;
    }
  }

  private boolean ready(URI base) {
    try {
      return http.send(HttpRequest.newBuilder(base.resolve("/health/ready")).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private DemoSummary story(FashionMnist.Split train, FashionMnist.Split test, Topics topics, String bootstrap, URI serving,
      URI ingest, LoopWatcher watcher, Path runDir) {
    ImagePool pool = new ImagePool(train, test, o.pretrain().trainImages());
    URI predict = serving.resolve("/predict");
    URI feedback = ingest.resolve("/feedback");
    ScheduledExecutorService labellers = Executors.newScheduledThreadPool(2);
    SplittableRandom rnd = new SplittableRandom(o.seed());
    // the evaluator's accuracy estimate of the serving version, before labels: kept for the source phase and for the shift
    labellers.scheduleWithFixedDelay(this::sampleEstimate, 2, 2, TimeUnit.SECONDS);
    try {
      // a labelling tool bulk-loads clean labelled images: the guard set and the replay reservoir of the source domain
      try (KafkaProducer<String, byte[]> p = KafkaSupport.producer(bootstrap, "demo-loader", topics.samplesRaw)) {
        for (int i = 0; i < o.guardSamples(); i++) {
          ImagePool.Image img = pool.next();
          ProducerRecord<String, byte[]> r = new ProducerRecord<>(topics.samplesRaw.name(), "clean-" + img.key(),
              encode(img, Corruption.NONE));
          r.headers().add(Topics.HEADER_LABEL, img.label().getBytes(StandardCharsets.UTF_8));
          r.headers().add(Topics.HEADER_DOMAIN, "clean".getBytes(StandardCharsets.UTF_8));
          r.headers().add(Topics.HEADER_SOURCE, "labelling-tool".getBytes(StandardCharsets.UTF_8));
          r.headers().add(Topics.HEADER_CONTENT_TYPE, "image/png".getBytes(StandardCharsets.UTF_8));
          p.send(r);
        }
      }
      say("loaded " + o.guardSamples() + " labelled clean images into " + topics.samplesRaw.name());

      say("phase 1: " + o.sourceRequests() + " requests of the source domain (clean images), " + pct(o.feedbackShare())
          + " labelled after " + o.feedbackDelay().toMillis() + " ms");
      List<Served> source = serve("source", Corruption.NONE, pool, o.sourceRequests(), predict, feedback, labellers, rnd,
          () -> false);
      double sourceAcc = accuracy(source, s -> true);
      // the version that served the source domain: the one the shift finds
      int baseVersion = answeredVersion.get();
      say(String.format("phase 1 done: served accuracy on the source domain %.3f (n=%d) by v%d", sourceAcc, source.size(),
          baseVersion));
      sleep(o.feedbackDelay().plusSeconds(2));

      long shiftAt = System.nanoTime();
      baseVersionAtShift = baseVersion;
      watcher.markShift(shiftAt);
      shiftSeconds = (shiftAt - t0) / 1e9;
      say("phase 2: the domain shifts to '" + o.corruption().id() + "' (a new camera); streaming until the loop closes");
      // the shifted phase leaves the after phase its fresh images: a fast serving node at a high --rate would spend the pool first
      int shiftedMax = Math.min(o.maxShiftedRequests(), Math.max(0, pool.remaining() - o.afterRequests()));
      if (shiftedMax < o.maxShiftedRequests()) {
        say("(at most " + shiftedMax + " shifted requests: the images the base model never saw run out after that, keeping "
            + o.afterRequests() + " for phase 3)");
      }
      List<Served> shifted = serve("shifted", o.corruption(), pool, shiftedMax, predict, feedback, labellers, rnd,
          () -> watcher.promotedVersion() != null && answeredVersion.get() == watcher.promotedVersion());
      double before = accuracy(shifted, s -> s.version() == baseVersion);
      long beforeN = shifted.stream().filter(s -> s.version() == baseVersion).count();
      say(String.format("phase 2 done: %d shifted requests; served accuracy of v%d on the shifted domain %.3f (n=%d)",
          shifted.size(), baseVersion, before, beforeN));

      if (pool.remaining() <= o.afterRequests() && watcher.promotedVersion() == null && watcher.firstDriftAfterShift() != null) {
        awaitLoopWithoutTraffic(watcher, serving);
      }
      Integer promoted = watcher.promotedVersion();
      List<Served> after = List.of();
      Double swapAfterShift = null;
      if (promoted != null) {
        say("phase 3: " + o.afterRequests() + " fresh shifted requests to measure v" + promoted);
        after = serve("after", o.corruption(), pool, o.afterRequests(), predict, feedback, labellers, rnd, () -> false);
        // the first answer by the promoted version; in phase 3 when phase 2's images ran out before the swap
        swapAfterShift = java.util.stream.Stream.concat(shifted.stream(), after.stream()).filter(s -> s.version() == promoted)
            .mapToLong(Served::atNanos).min().stream().mapToDouble(t -> (t - shiftAt) / 1e9).boxed().findFirst().orElse(null);
      }
      List<Served> afterByPromoted = after.stream().filter(s -> promoted != null && s.version() == promoted).toList();
      double afterAcc = accuracy(afterByPromoted, s -> true);
      double z = twoProportionZ(afterAcc, afterByPromoted.size(), before, beforeN);
      if (!afterByPromoted.isEmpty()) {
        say(String.format("phase 3 done: served accuracy of v%d on the shifted domain %.3f (n=%d), was %.3f: z = %.1f", promoted,
            afterAcc, afterByPromoted.size(), before, z));
      }
      return summarize(baseVersion, sourceAcc, source.size(), before, (int) beforeN, watcher, promoted, swapAfterShift, afterAcc,
          afterByPromoted.size(), z, runDir);
    } finally {
      labellers.shutdownNow();
    }
  }

  /**
   * The unseen shifted images ran out after a drift but before a promotion (a slow trainer: a split deployment on few cores
   * at a high --rate): re-sending images already served would let the gate judge a candidate on images it trained on, so the
   * demo sends nothing more and waits, up to {@link #WAIT_WITHOUT_TRAFFIC} and the run's --timeout, for the candidate in
   * training and the gate's verdict on the held-out samples already labelled, then for serving to report the promoted version
   * as serving (its V2 model metadata), so that phase 3 measures that version from its first request.
   */
  private void awaitLoopWithoutTraffic(LoopWatcher watcher, URI serving) {
    say("(the unseen shifted images ran out before the loop closed: no more shifted traffic; waiting up to "
        + WAIT_WITHOUT_TRAFFIC.toSeconds() + " s for the candidate and the gate's verdict)");
    long end = Math.min(t0 + o.timeout().toNanos(), System.nanoTime() + WAIT_WITHOUT_TRAFFIC.toNanos());
    if (await(() -> watcher.promotedVersion() != null, end) && answeredModel != null) {
      // phase 3 measures the promoted version: without traffic nothing shows when serving swapped, so ask it
      URI metadata = serving.resolve("/v2/models/" + java.net.URLEncoder.encode(answeredModel, StandardCharsets.UTF_8));
      int promoted = watcher.promotedVersion();
      if (!await(() -> servingVersion(metadata) == promoted, end)) {
        say("(serving did not report v" + promoted + " as serving in time; phase 3 counts only its answers)");
      }
    }
  }

  /** The version serving answers with now, from its model metadata ({@code parameters.version}); -1 when it cannot tell. */
  private int servingVersion(URI metadata) {
    try {
      HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(metadata).timeout(Duration.ofSeconds(5)).GET().build(),
          HttpResponse.BodyHandlers.ofByteArray());
      return r.statusCode() == 200 ? readTree(r.body()).path("parameters").path("version").asInt(-1) : -1;
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private DemoSummary summarize(int baseVersion, double sourceAcc, int sourceN, double before, int beforeN, LoopWatcher w,
      Integer promoted, Double swapAfterShift, double afterAcc, int afterN, double z, Path runDir) {
    String reason;
    if (w.firstDriftAfterShift() == null) {
      reason = "no drift was detected after the shift";
    } else if (w.candidate() == null) {
      reason = "drift was detected but no candidate was trained";
    } else if (promoted == null) {
      reason = "the gate did not promote the candidate: " + (w.decision() == null ? "no verdict" : w.decision().reason());
    } else if (afterN == 0) {
      reason = "serving did not answer with the promoted version v" + promoted;
    } else if (z <= 3) {
      reason = String.format("accuracy after the swap %.3f is not clearly above %.3f before (z=%.1f)", afterAcc, before, z);
    } else {
      reason = "loop closed";
    }
    boolean closed = reason.equals("loop closed");
    LoopWatcher.Drift d = w.firstDriftAfterShift();
    LoopWatcher.Drift sd = w.firstSupervisedDriftAfterShift();
    DemoSummary.Candidate c = w.candidate();
    return new DemoSummary(closed, reason, o.corruption().id(), seconds(), Networks.device(), baseVersion, sourceAcc, sourceN,
        before, beforeN, d == null ? null : d.secondsAfterShift(), d == null ? null : d.labelledSamples(),
        d == null ? null : d.detector(), sd == null ? null : sd.secondsAfterShift(), sd == null ? null : sd.labelledSamples(),
        sd == null ? null : sd.detector(), w.falseAlarms(), w.driftSignals(), c, w.decision(), promoted, swapAfterShift, afterAcc,
        afterN, z, failed.get(), sourceEstimate, shiftedEstimate, w.labelling(), runDir.toAbsolutePath().toString(),
        List.copyOf(timeline), null);
  }

  /**
   * An image of the pool as a camera of the domain sends it: for the grey CNN the 28×28 grey image, for the RGB backbone its
   * colour rendering ({@link ColourRendering}, 32×32), either with the domain's corruption, as a PNG.
   */
  private byte[] encode(ImagePool.Image img, Corruption corruption) {
    long seed = o.seed() * 31 + img.key().hashCode();
    if (o.pretrain().arch() == Pretrainer.Arch.RESNET) {
      float[] rgb = corruption.apply(ColourRendering.render(img.pixels(), img.key().hashCode()), ColourRendering.SIDE, seed);
      return Images.toPng(rgb, 3, ColourRendering.SIDE, ColourRendering.SIDE);
    }
    return Images.toPng(corruption.apply(img.pixels(), FashionMnist.SIDE, seed), FashionMnist.SIDE, FashionMnist.SIDE);
  }

  /**
   * Sends {@code n} requests at the configured rate and concurrency, schedules feedback for a share of them, and stops early
   * when {@code stop} turns true.
   */
  private List<Served> serve(String phase, Corruption corruption, ImagePool pool, int n, URI predict, URI feedback,
      ScheduledExecutorService labellers, SplittableRandom rnd, BooleanSupplier stop) {
    List<Served> out = java.util.Collections.synchronizedList(new ArrayList<>());
    Semaphore inFlight = new Semaphore(o.concurrency());
    long start = System.nanoTime();
    long deadline = t0 + o.timeout().toNanos();
    long lastReport = System.nanoTime();
    List<CompletableFuture<Void>> pending = new ArrayList<>();
    for (int i = 0; i < n && !stop.getAsBoolean() && System.nanoTime() < deadline; i++) {
      long due = start + (long) (i * 1e9 / o.ratePerSecond());
      long wait = due - System.nanoTime();
      if (wait > 0) {
        sleep(Duration.ofNanos(wait));
      }
      ImagePool.Image img = pool.next();
      byte[] png = encode(img, corruption);
      boolean label = rnd.nextDouble() < o.feedbackShare();
      inFlight.acquireUninterruptibly();
      HttpRequest req = HttpRequest.newBuilder(predict).timeout(Duration.ofSeconds(30)).header("Content-Type", "image/png")
          .POST(HttpRequest.BodyPublishers.ofByteArray(png)).build();
      pending.add(http.sendAsync(req, HttpResponse.BodyHandlers.ofByteArray()).handle((resp, err) -> {
        inFlight.release();
        if (err != null || resp.statusCode() != 200) {
          failed.incrementAndGet();
          log.warn("request failed: {}", err != null ? err.toString() : resp.statusCode() + " " + new String(resp.body(),
              StandardCharsets.UTF_8));
          return null;
        }
        JsonNode body = readTree(resp.body());
        Served s = new Served(phase, body.get("predictionId").asText(), body.get("version").asInt(),
            body.get("topK").get(0).get("label").asText(), img.label(), System.nanoTime());
        out.add(s);
        allServed.add(s);
        if (!phase.equals("source")) {
          shiftedIds.add(s.predictionId());
        }
        answeredVersion.set(s.version());
        answeredModel = body.path("model").asText(null);
        if (label) {
          labellers.schedule(() -> sendFeedback(feedback, s, !phase.equals("source")), o.feedbackDelay().toMillis(),
              TimeUnit.MILLISECONDS);
        }
        return null;
      }));
      if (System.nanoTime() - lastReport > 5_000_000_000L) {
        lastReport = System.nanoTime();
        say(String.format("  %s: %d requests, accuracy so far %.3f, serving versions %s", phase, out.size(),
            accuracy(List.copyOf(out), s -> true), versions(List.copyOf(out))));
      }
    }
    CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).join();
    return List.copyOf(out);
  }

  /**
   * Writes the run's HTML report and returns the summary that points to it. The report is a view of a run that has already
   * happened: if it cannot be written the run's result stands, and the reason is printed instead of the path.
   */
  private DemoSummary writeReport(DemoSummary summary, LoopWatcher watcher, Path dir) {
    List<Served> served;
    synchronized (allServed) {
      served = List.copyOf(allServed);
    }
    List<DemoReport.Estimate> readings;
    synchronized (estimates) {
      readings = List.copyOf(estimates);
    }
    DemoReport.Run run = new DemoReport.Run(t0, startedAt, shiftSeconds, served, watcher.drifts(), watcher.candidates(),
        watcher.decisions(), watcher.promotions(), readings);
    try {
      Path html = DemoReport.write(dir, summary, run).toAbsolutePath();
      say("report written to " + html);
      return summary.withReport(html.toString());
    } catch (RuntimeException e) {
      // a chart library or disk problem must not turn a run that closed the loop into a failed demo
      log.warn("could not write the report into {}", dir, e);
      say("could not write the report into " + dir + ": " + e);
      return summary;
    }
  }

  /**
   * Reads the evaluator's estimate of the answering version's accuracy ({@code streamtune_evaluator_accuracy_estimate}) and keeps
   * the last value before the shift and the last during it while the same version answered.
   */
  private void sampleEstimate() {
    URI uri = evaluatorMetrics;
    int version = answeredVersion.get();
    if (uri == null || version < 0) {
      return;
    }
    try {
      String body = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^streamtune_evaluator_accuracy_estimate\\{[^}]*version=\""
          + version + "\"[^}]*} ([0-9.eE+-]+)$").matcher(body);
      if (!m.find()) {
        return;
      }
      double v = Double.parseDouble(m.group(1));
      if (Double.isNaN(v)) {
        return;
      }
      estimates.add(new DemoReport.Estimate((System.nanoTime() - t0) / 1e9, version, v));
      if (shiftSeconds == null) {
        sourceEstimate = v;
      } else if (version == baseVersionAtShift) {
        shiftedEstimate = v;
      }
    } catch (IOException | RuntimeException e) {
      log.debug("cannot read the accuracy estimate: {}", e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Scrapes every service's {@code /metrics} once, as Prometheus would, into {@code dir/<service>.prom}. */
  private void saveMetrics(Path dir, Map<String, Integer> ports) {
    try {
      Files.createDirectories(dir);
      for (Map.Entry<String, Integer> e : ports.entrySet()) {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + e.getValue() + "/metrics"))
            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        Files.writeString(dir.resolve(e.getKey() + ".prom"), r.body());
      }
      say("metrics of the four services saved under " + dir);
    } catch (IOException e) {
      say("could not save the services' metrics: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void sendFeedback(URI feedback, Served s, boolean shifted) {
    byte[] body = Json.toBytes(Map.of("predictionId", s.predictionId(), "label", s.truth(), "annotator", "demo-labeller"));
    HttpRequest req = HttpRequest.newBuilder(feedback).timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
    try {
      HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() / 100 != 2) {
        log.warn("feedback refused: {} {}", r.statusCode(), r.body());
      } else if (shifted) {
        shiftedFeedbackSent.incrementAndGet();
      }
    } catch (IOException e) {
      log.warn("feedback failed: {}", e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static Map<Integer, Long> versions(List<Served> served) {
    Map<Integer, Long> m = new java.util.TreeMap<>();
    served.forEach(s -> m.merge(s.version(), 1L, Long::sum));
    return m;
  }

  private static JsonNode readTree(byte[] body) {
    try {
      return Json.MAPPER.readTree(body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static double accuracy(List<Served> served, java.util.function.Predicate<Served> filter) {
    long n = served.stream().filter(filter).count();
    return n == 0 ? Double.NaN : served.stream().filter(filter).filter(Served::correct).count() / (double) n;
  }

  /** z of p1 > p2 for two independent proportions (pooled). */
  static double twoProportionZ(double p1, long n1, double p2, long n2) {
    if (n1 == 0 || n2 == 0 || Double.isNaN(p1) || Double.isNaN(p2)) {
      return Double.NaN;
    }
    double p = (p1 * n1 + p2 * n2) / (n1 + n2);
    double se = Math.sqrt(p * (1 - p) * (1.0 / n1 + 1.0 / n2));
    return se == 0 ? (p1 > p2 ? Double.POSITIVE_INFINITY : 0) : (p1 - p2) / se;
  }

  private static String pct(double share) {
    return Math.round(share * 100) + "%";
  }

  private void waitFor(String what, Duration timeout, BooleanSupplier cond) {
    if (!await(cond, System.nanoTime() + timeout.toNanos())) {
      throw new IllegalStateException("timed out after " + timeout.toSeconds() + " s waiting for " + what);
    }
  }

  /** Polls {@code cond} every 100 ms until it holds (true) or {@code System.nanoTime()} passes {@code endNanos} (false). */
  private static boolean await(BooleanSupplier cond, long endNanos) {
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > endNanos) {
        return false;
      }
      sleep(Duration.ofMillis(100));
    }
    return true;
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(Math.max(0, d.toMillis()), (int) (d.toNanos() % 1_000_000));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static void copyDir(Path from, Path to) {
    try (Stream<Path> s = Files.walk(from)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot copy " + from + " to " + to, e);
    }
  }
}
