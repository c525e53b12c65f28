package dev.streamtune.standalone;

import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.trainer.Pretrainer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Trains the backbone on the source domain once and stores it as the base version. */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
    description = "Pretrain the CNN on clean Fashion-MNIST and store it as the base version (reused when present).")
final class PretrainCommand implements Callable<Integer> {
  @Mixin
  DataOption data;

  @Option(names = "--store", paramLabel = "DIR", defaultValue = "streamtune-work/base",
      description = "model store (default ${DEFAULT-VALUE})")
  Path store;

  @Option(names = "--model", defaultValue = "fashion", description = "model name (default ${DEFAULT-VALUE})")
  String model;

  @Option(names = "--images", defaultValue = "50000", description = "training images used (default ${DEFAULT-VALUE})")
  int images;

  @Option(names = "--epochs", defaultValue = "1", description = "epochs (default ${DEFAULT-VALUE})")
  int epochs;

  @Option(names = "--force", description = "train a new version even when a base exists")
  boolean force;

  @Override
  public Integer call() {
    Pretrainer.Options o = new Pretrainer.Options(images, epochs, 64, 1e-3, 42);
    DirectoryModelStore s = new DirectoryModelStore(store);
    FashionMnist.Split train = FashionMnist.train(data.dir);
    if (force) {
      Pretrainer.pretrain(s, model, train, o, System.out::println);
    } else {
      Pretrainer.ensureBase(s, model, train, o, System.out::println);
    }
    return 0;
  }
}
