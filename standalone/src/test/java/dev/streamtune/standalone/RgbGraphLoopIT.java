package dev.streamtune.standalone;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.image.Corruption;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.evaluator.EvaluatorConfig;
import dev.streamtune.evaluator.EvaluatorService;
import dev.streamtune.ingest.IngestConfig;
import dev.streamtune.ingest.IngestService;
import dev.streamtune.serving.ServingConfig;
import dev.streamtune.serving.ServingService;
import dev.streamtune.standalone.demo.Demo;
import dev.streamtune.standalone.demo.DemoOptions;
import dev.streamtune.standalone.demo.DemoSummary;
import dev.streamtune.trainer.Pretrainer;
import dev.streamtune.trainer.TrainerConfig;
import dev.streamtune.trainer.TrainerService;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The whole loop on an RGB {@code ComputationGraph}: the residual backbone pretrained on the colour rendering of the images,
 * served 32×32 RGB PNGs, a new camera's colour cast with blur, drift, a graph fine-tuned above a block boundary, the gate, the
 * swap and better answers. Driven as {@code streamtune demo --bootstrap … --serving … --ingest …} drives a running
 * deployment: the broker and the four services are started on their own here, and the demo reaches them only over Kafka and
 * HTTP, at a smaller size.
 */
class RgbGraphLoopIT {
  @Test
  void shouldCloseTheLoopOnAnRgbResidualGraphDrivingARunningDeployment() throws Exception {
    Path work = Path.of(System.getProperty("streamtune.test.tmp", "target")).resolve("rgb-loop-it-work");
    Pretrainer.Options pretrain = new Pretrainer.Options(8_000, 1, 64, 2e-3, 42, Pretrainer.Arch.RESNET);
    String model = Pretrainer.Arch.RESNET.defaultModel();
    Path store = TestData.tempDir("rgb-loop-store");
    Pretrainer.ensureBase(new DirectoryModelStore(store), model, FashionMnist.train(TestData.dataDir()), pretrain,
        System.out::println);

    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().port(0).build().start()) {
      Map<String, String> m = new HashMap<>();
      m.put("streamtune.bootstrap", broker.bootstrapServers());
      m.put("streamtune.store.dir", store.toString());
      m.put("streamtune.model", model);
      for (String service : new String[] {"serving", "ingest", "evaluator", "trainer"}) {
        m.put("streamtune." + service + ".port", "0");
      }
      m.put("streamtune.serving.grpc-port", "0");
      m.put("streamtune.ingest.state.dir", TestData.tempDir("rgb-ingest-state").toString());
      m.put("streamtune.evaluator.state.dir", TestData.tempDir("rgb-evaluator-state").toString());
      // a rejected first candidate is retried (5 s cool-down here); the shifted stream lasts long enough
      m.put("streamtune.trainer.min-new-samples", "800");
      m.put("streamtune.trainer.cooldown", "5s");
      Settings settings = Settings.of(m);
      KafkaSupport.ensureTopics(broker.bootstrapServers(), new Topics(Topics.DEFAULT_PREFIX), 1, (short) 1,
          Duration.ofSeconds(30));
      try (IngestService ingest = new IngestService(IngestConfig.from(settings));
          EvaluatorService evaluator = new EvaluatorService(EvaluatorConfig.from(settings));
          TrainerService trainer = new TrainerService(TrainerConfig.from(settings));
          ServingService serving = new ServingService(ServingConfig.from(settings))) {
        ingest.start();
        evaluator.start();
        trainer.start();
        serving.start();
        DemoOptions o = new DemoOptions(TestData.dataDir(), work, Corruption.CAST_BLUR, 2_500, 800, 12_000, 600, 0.8,
            Duration.ofMillis(300), 150, 4, pretrain, Map.of(), Duration.ofMinutes(8), 11, System.out::println, false,
            new DemoOptions.Against(broker.bootstrapServers(), URI.create("http://localhost:" + serving.port()),
                URI.create("http://localhost:" + ingest.port()), URI.create("http://localhost:" + evaluator.port())));

        DemoSummary s = Demo.run(o);

        assertThat(s.baseVersion()).as("the version serving before the shift, read from its answers").isEqualTo(1);
        assertThat(s.sourceAccuracyEstimate()).as("the evaluator's estimate before labels, read from its /metrics").isNotNull()
            .isBetween(0.0, 1.0);
        assertThat(s.driftSecondsAfterShift()).as("drift detected after the shift").isNotNull();
        assertThat(s.candidate()).as("a candidate was trained").isNotNull();
        assertThat(s.candidate().layersTrained()).contains("head").doesNotContain("stem_conv", "block1_conv1");
        assertThat(s.gate().verdict()).as("the gate's last verdict: %s", s.gate()).isEqualTo("PROMOTE");
        assertThat(s.promotedVersion()).isEqualTo(s.candidate().version()).isGreaterThan(s.baseVersion());
        assertThat(serving.servingVersion()).as("the deployment serves what the demo saw promoted").hasValue(s.promotedVersion());
        assertThat(s.failedRequests()).isZero();
        assertThat(s.improvementZ()).isGreaterThan(3.0);
        assertThat(s.accuracyAfter()).isGreaterThan(s.shiftedAccuracyBefore() + 0.05);
        assertThat(s.loopClosed()).as(s.reason()).isTrue();
      }
    }
  }
}
