package dev.streamtune.standalone.eval;

import dev.streamtune.core.image.ColourRendering;
import dev.streamtune.core.image.Corruption;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.model.ResNets;
import dev.streamtune.trainer.Pretrainer;
import java.util.List;

/**
 * The network an evaluation runs on, with the images it sees: the grey 28×28 CNN on Fashion-MNIST as it is, or the RGB residual
 * graph ({@code pretrain --arch resnet}) on the colour rendering of the same images ({@link ColourRendering}, 3×32×32), a
 * domain's corruption applied after the rendering as a camera would.
 */
enum Backbone {
  CNN(Pretrainer.Arch.CNN, FashionMnist.SIDE, 1e-3, List.of("night", "invert", "stationary", "gradual", "prior", "newclasses",
      "recurring", "rot90", "blur")),
  RESNET(Pretrainer.Arch.RESNET, ColourRendering.SIDE, Pretrainer.Options.resnetDefaults().learningRate(),
      List.of("cast-blur", "night", "invert", "blur", "rot90", "stationary"));

  /** Test images are rendered with keys above the train split's, so no test image shares a training image's colours. */
  private static final long TEST_KEY = 1_000_000L;

  private final Pretrainer.Arch arch;
  private final int side;
  private final double rate;
  private final List<String> scenarios;

  Backbone(Pretrainer.Arch arch, int side, double rate, List<String> scenarios) {
    this.arch = arch;
    this.side = side;
    this.rate = rate;
    this.scenarios = scenarios;
  }

  static Backbone parse(String name) {
    return switch (Pretrainer.Arch.parse(name)) {
      case CNN -> CNN;
      case RESNET -> RESNET;
    };
  }

  String id() {
    return arch.id();
  }

  Pretrainer.Arch arch() {
    return arch;
  }

  /** The scenarios this backbone runs, the default of {@code --scenarios}. */
  List<String> scenarios() {
    return scenarios;
  }

  int side() {
    return side;
  }

  /** The learning rate of training from scratch (the scratch baseline, the oracle): the one its base was pretrained with. */
  double rate() {
    return rate;
  }

  /** A fresh, initialised network of this architecture for {@code classes} labels. */
  Network fresh(int classes, long seed) {
    return switch (this) {
      case CNN -> Network.of(Networks.cnn(side, classes, rate, seed));
      case RESNET -> Network.of(ResNets.build(3, side, new int[] {16, 32, 64}, 64, classes, rate, seed));
    };
  }

  /** The spec of this architecture's networks for {@code labels}: how images become its input, its freeze boundaries. */
  ModelSpec spec(List<String> labels) {
    return switch (this) {
      case CNN -> Networks.spec(side, labels, Networks.DEFAULT_FREEZE_BOUNDARY);
      case RESNET -> ResNets.spec(fresh(labels.size(), 0).graph(), side, labels);
    };
  }

  /**
   * Image {@code k} of a split as this backbone's camera sees it in domain {@code c}: the grey pixels, or their colour
   * rendering, then the corruption.
   */
  float[] image(float[] grey, boolean test, int k, Corruption c, long seed) {
    float[] px = this == CNN ? grey : ColourRendering.render(grey, test ? TEST_KEY + k : k);
    return c == Corruption.NONE ? px : c.apply(px, side, seed);
  }
}
