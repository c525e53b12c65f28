package dev.streamtune.standalone;

import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Normalization;
import dev.streamtune.standalone.imports.ModelImporter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code streamtune models import}: a user's pretrained network into the model store, ready to serve and fine-tune. */
@Command(name = "import", mixinStandardHelpOptions = true,
    description = {"Store your own pretrained CNN as the next version of a model: a DL4J zip (MultiLayerNetwork or "
        + "ComputationGraph), a Keras .h5 (keras.Model.save; Sequential or functional), or zoo:NAME (DL4J zoo with ImageNet "
        + "weights, downloaded once: resnet50, vgg16, vgg19, squeezenet, darknet19, xception).",
        "A top without a loss layer (Keras' softmax Dense) becomes a trainable output layer with its weights; a top with other "
            + "classes needs --replace-head (a fresh head over the embedding layer)."})
final class ImportCommand implements Callable<Integer> {
  @Mixin
  Common common;

  @Option(names = "--model", paramLabel = "NAME", required = true, description = "the model name in the store")
  String model;

  @Option(names = "--from", paramLabel = "SOURCE", required = true,
      description = "a DL4J zip, a Keras .h5/.hdf5/.keras file, or zoo:NAME")
  String source;

  @Option(names = "--labels", paramLabel = "FILE", required = true,
      description = "one label per line, in the order of the network's outputs")
  Path labels;

  @Option(names = "--input-shape", paramLabel = "C,H,W", split = ",",
      description = "channels (1 or 3), height, width; read from a Keras file or the zoo, needed for a DL4J zip")
  List<Integer> inputShape;

  @Option(names = "--preprocessing", paramLabel = "NAME", defaultValue = "unit",
      description = "unit (x/255), imagenet (mean/std), vgg (mean subtraction on 0..255) or mean-std:M,M,M/S,S,S "
          + "(default ${DEFAULT-VALUE})")
  String preprocessing;

  @Option(names = "--resize", paramLabel = "POLICY", defaultValue = "none",
      description = "for images of another size: none (refused), stretch, center-crop (default ${DEFAULT-VALUE})")
  String resize;

  @Option(names = "--freeze-boundary", paramLabel = "LAYER",
      description = "the last frozen layer for fine-tuning (default: the embedding layer, i.e. train the head only)")
  String freezeBoundary;

  @Option(names = "--embedding", paramLabel = "LAYER",
      description = "the layer whose output is the image embedding (default: the layer that feeds the top)")
  String embedding;

  @Option(names = "--replace-head", description = "train a fresh output head over the embedding instead of the source's top")
  boolean replaceHead;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    Path store = CommonConfig.from(common.settings()).storeDir();
    ModelImporter.Request r = new ModelImporter.Request(store, model, source, labels, inputShape,
        Normalization.parse(preprocessing), ModelSpec.Resize.of(resize), freezeBoundary, embedding, replaceHead, 42);
    Manifest m = ModelImporter.run(r, spec.commandLine().getOut()::println);
    spec.commandLine().getOut().printf("imported %s v%d (sha256 %s)%n", m.model(), m.version(), m.sha256().substring(0, 12));
    return 0;
  }

  @Override
  public String toString() {
    return "import " + model + " from " + source + (inputShape == null ? "" : " " + Arrays.toString(inputShape.toArray()));
  }
}
