package dev.streamtune.standalone.imports;

import dev.streamtune.core.model.Network;
import java.io.File;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import org.deeplearning4j.common.resources.DL4JResources;
import org.deeplearning4j.common.resources.ResourceType;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.zoo.PretrainedType;
import org.deeplearning4j.zoo.ZooModel;
import org.deeplearning4j.zoo.model.Darknet19;
import org.deeplearning4j.zoo.model.ResNet50;
import org.deeplearning4j.zoo.model.SqueezeNet;
import org.deeplearning4j.zoo.model.VGG16;
import org.deeplearning4j.zoo.model.VGG19;
import org.deeplearning4j.zoo.model.Xception;

/**
 * A DL4J zoo network with its ImageNet weights ({@code ZooModel.initPretrained}). The weights are downloaded from DL4J's server
 * into DL4J's cache once; offline, the import fails with one line naming the URL and where a file downloaded elsewhere goes.
 */
final class ZooSource {
  private static final Map<String, java.util.function.Supplier<ZooModel>> MODELS = new LinkedHashMap<>();

  static {
    MODELS.put("resnet50", () -> ResNet50.builder().build());
    MODELS.put("vgg16", () -> VGG16.builder().build());
    MODELS.put("vgg19", () -> VGG19.builder().build());
    MODELS.put("squeezenet", () -> SqueezeNet.builder().build());
    MODELS.put("darknet19", () -> Darknet19.builder().build());
    MODELS.put("xception", () -> Xception.builder().build());
  }

  private ZooSource() {}

  /** The names {@code zoo:NAME} accepts. */
  static List<String> names() {
    return List.copyOf(MODELS.keySet());
  }

  static ModelImporter.Loaded load(String name, Consumer<String> progress) {
    var make = MODELS.get(name.toLowerCase(Locale.ROOT));
    if (make == null) {
      throw new IllegalArgumentException("unknown zoo model '" + name + "'; known: " + names());
    }
    ZooModel zoo = make.get();
    if (!zoo.pretrainedAvailable(PretrainedType.IMAGENET)) {
      throw new IllegalArgumentException("zoo model '" + name + "' has no ImageNet weights in DL4J's zoo");
    }
    String url = zoo.pretrainedUrl(PretrainedType.IMAGENET);
    File cached = new File(DL4JResources.getDirectory(ResourceType.ZOO_MODEL, zoo.modelName()), new File(url).getName());
    progress.accept((cached.exists() ? "reading " + cached : "downloading " + url) + " (ImageNet weights of " + name + ")");
    Model model;
    try {
      model = zoo.initPretrained(PretrainedType.IMAGENET);
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("cannot get the ImageNet weights of zoo:" + name + " from " + url + " (" + e
          + "); on a machine with internet, download that file and either pass it with --from FILE.zip --input-shape "
          + shape(zoo) + " or put it at " + cached, e);
    }
    int[] s = zoo.metaData().getInputShape()[0];
    return new ModelImporter.Loaded(Network.of(model), List.of(s[0], s[1], s[2]), "zoo", null,
        "DL4J zoo " + zoo.modelName() + " with ImageNet weights from " + url);
  }

  private static String shape(ZooModel zoo) {
    int[] s = zoo.metaData().getInputShape()[0];
    return s[0] + "," + s[1] + "," + s[2];
  }
}
