package dev.streamtune.standalone;

import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.trainer.Pretrainer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Trains a built-in backbone on the source domain once and stores it as the base version. */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
    description = {"Pretrain a built-in backbone and store it as the base version (reused when present):",
        "  --arch cnn     the grey 28x28 CNN on clean Fashion-MNIST (model 'fashion'),",
        "  --arch resnet  a small residual graph for RGB 32x32 on the colour rendering of the same images (model "
            + "'fashion-rgb')."})
final class PretrainCommand implements Callable<Integer> {
  @Mixin
  DataOption data;

  @Option(names = "--store", paramLabel = "DIR", defaultValue = "streamtune-work/base",
      description = "model store (default ${DEFAULT-VALUE})")
  Path store;

  @Option(names = "--arch", paramLabel = "ARCH", defaultValue = "cnn", description = "cnn or resnet (default ${DEFAULT-VALUE})")
  String arch;

  @Option(names = "--model", description = "model name (default fashion for cnn, fashion-rgb for resnet)")
  String model;

  @Option(names = "--images", description = "training images used (default 50000 for cnn, 20000 for resnet)")
  Integer images;

  @Option(names = "--epochs", description = "the most epochs (default 8 for cnn, with early stopping on 5,000 held-out "
      + "training images; 2 for resnet)")
  Integer epochs;

  @Option(names = "--force", description = "train a new version even when a base exists")
  boolean force;

  @Override
  public Integer call() {
    Pretrainer.Arch a = Pretrainer.Arch.parse(arch);
    Pretrainer.Options d = a == Pretrainer.Arch.RESNET ? Pretrainer.Options.resnetDefaults() : Pretrainer.Options.defaults();
    Pretrainer.Options o = new Pretrainer.Options(images != null ? images : d.trainImages(), epochs != null ? epochs : d.epochs(),
        d.batchSize(), d.learningRate(), d.seed(), a, d.patience(), d.augment(), d.decay());
    String name = model != null ? model : a.defaultModel();
    DirectoryModelStore s = new DirectoryModelStore(store);
    FashionMnist.Split train = FashionMnist.train(data.dir);
    FashionMnist.Split test = FashionMnist.test(data.dir);
    if (force) {
      Pretrainer.pretrain(s, name, train, test, o, System.out::println);
    } else {
      Pretrainer.ensureBase(s, name, train, test, o, System.out::println);
    }
    return 0;
  }
}
