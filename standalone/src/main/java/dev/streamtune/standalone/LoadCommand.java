package dev.streamtune.standalone;

import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.image.Corruption;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Bulk-loads labelled Fashion-MNIST images, optionally shifted by a corruption, into samples.raw. */
@Command(name = "load", mixinStandardHelpOptions = true,
    description = "Bulk-load labelled Fashion-MNIST images (optionally corrupted) into samples.raw.")
final class LoadCommand implements Callable<Integer> {
  @Mixin
  Common common;

  @Mixin
  DataOption data;

  @Option(names = "--split", defaultValue = "test", description = "train or test (default ${DEFAULT-VALUE})")
  String split;

  @Option(names = "--from", defaultValue = "0", description = "first image index (default ${DEFAULT-VALUE})")
  int from;

  @Option(names = "--count", defaultValue = "1000", description = "images to load (default ${DEFAULT-VALUE})")
  int count;

  @Option(names = "--corruption", defaultValue = "none", description = "none, night, invert, blur, contrast, rot90")
  String corruption;

  @Override
  public Integer call() {
    CommonConfig cfg = CommonConfig.from(common.settings());
    Corruption c = Corruption.parse(corruption);
    FashionMnist.Split s = switch (split) {
      case "train" -> FashionMnist.train(data.dir);
      case "test" -> FashionMnist.test(data.dir);
      default -> throw new IllegalArgumentException("--split must be train or test, was '" + split + "'");
    };
    if (from < 0 || count < 1 || from + count > s.size()) {
      throw new IllegalArgumentException("--from " + from + " --count " + count + " is outside the " + s.size() + " images");
    }
    Topics t = cfg.topics();
    KafkaSupport.ensureTopics(cfg.kafka(), t, cfg.partitions(), cfg.replication(), java.time.Duration.ofSeconds(30));
    try (KafkaProducer<String, byte[]> p = KafkaSupport.producer(cfg.kafka(), "streamtune-load", t.samplesRaw)) {
      for (int i = from; i < from + count; i++) {
        ProducerRecord<String, byte[]> r = new ProducerRecord<>(t.samplesRaw.name(), split + "-" + c.id() + "-" + i,
            Images.toPng(c.apply(s.images()[i], FashionMnist.SIDE, i), FashionMnist.SIDE, FashionMnist.SIDE));
        r.headers().add(Topics.HEADER_LABEL, FashionMnist.LABELS.get(s.labels()[i]).getBytes(StandardCharsets.UTF_8));
        r.headers().add(Topics.HEADER_DOMAIN, c.id().getBytes(StandardCharsets.UTF_8));
        r.headers().add(Topics.HEADER_SOURCE, "loader".getBytes(StandardCharsets.UTF_8));
        r.headers().add(Topics.HEADER_CONTENT_TYPE, "image/png".getBytes(StandardCharsets.UTF_8));
        p.send(r);
        if ((i - from + 1) % 1000 == 0) {
          System.out.println("loaded " + (i - from + 1) + "/" + count);
        }
      }
    }
    System.out.println("loaded " + count + " images into " + t.samplesRaw.name());
    return 0;
  }
}
