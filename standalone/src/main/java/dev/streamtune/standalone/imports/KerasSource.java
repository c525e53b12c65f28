package dev.streamtune.standalone.imports;

import com.fasterxml.jackson.databind.JsonNode;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.model.Network;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.deeplearning4j.nn.modelimport.keras.Hdf5Archive;
import org.deeplearning4j.nn.modelimport.keras.KerasModelImport;
import org.deeplearning4j.nn.modelimport.keras.exceptions.InvalidKerasConfigurationException;
import org.deeplearning4j.nn.modelimport.keras.exceptions.UnsupportedKerasConfigurationException;

/**
 * A Keras model as {@code keras.Model.save(..., save_format="h5")} writes it (Keras 2): Sequential models become a
 * {@code MultiLayerNetwork}, functional ones a {@code ComputationGraph} (DL4J's {@link KerasModelImport}, without Keras' training
 * configuration). The input shape comes from the model config's {@code batch_input_shape}; {@code channels_last} models are
 * imported with NHWC layers, which the spec records.
 */
final class KerasSource {
  private static final Pattern UNSUPPORTED_TYPE = Pattern.compile("(?i)unsupported keras layer type\\s+([A-Za-z0-9_]+)");

  private KerasSource() {}

  static ModelImporter.Loaded load(Path file, String sha) {
    JsonNode config = config(file);
    String kind = config.path("class_name").asText("");
    boolean sequential = kind.equals("Sequential");
    Network net;
    try {
      net = sequential ? Network.of(KerasModelImport.importKerasSequentialModelAndWeights(file.toString(), false))
          : Network.of(KerasModelImport.importKerasModelAndWeights(file.toString(), false));
    } catch (UnsupportedKerasConfigurationException e) {
      throw new IllegalArgumentException(unsupported(file, config, e.getMessage()), e);
    } catch (InvalidKerasConfigurationException | IOException | RuntimeException e) {
      throw new IllegalArgumentException("cannot import the Keras model " + file + ": " + firstLine(e.getMessage()), e);
    }
    return new ModelImporter.Loaded(net, inputShape(config), "keras-h5", sha, "Keras " + kind + " model (keras "
        + config.path("keras_version").asText("?") + ")");
  }

  /** The model config JSON, with the file's {@code keras_version} added. */
  static JsonNode config(Path file) {
    try (Hdf5Archive archive = new Hdf5Archive(file.toString())) {
      if (!archive.hasAttribute("model_config")) {
        throw new IllegalArgumentException(file + " has no Keras model_config: save the whole model (keras.Model.save), "
            + "not only its weights");
      }
      JsonNode root = Json.MAPPER.readTree(archive.readAttributeAsJson("model_config"));
      if (archive.hasAttribute("keras_version") && root instanceof com.fasterxml.jackson.databind.node.ObjectNode o) {
        o.put("keras_version", archive.readAttributeAsString("keras_version"));
      }
      return root;
    } catch (IllegalArgumentException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalArgumentException(file + " is not a Keras HDF5 model: " + firstLine(e.getMessage()), e);
    }
  }

  /** {@code [C,H,W]} from the first {@code batch_input_shape}, or null. */
  static List<Integer> inputShape(JsonNode config) {
    for (JsonNode layer : layers(config)) {
      JsonNode shape = layer.path("config").path("batch_input_shape");
      if (shape.isArray() && shape.size() == 4 && shape.get(1).isInt() && shape.get(2).isInt() && shape.get(3).isInt()) {
        boolean channelsFirst = "channels_first".equals(firstDataFormat(config));
        return channelsFirst ? List.of(shape.get(1).asInt(), shape.get(2).asInt(), shape.get(3).asInt())
            : List.of(shape.get(3).asInt(), shape.get(1).asInt(), shape.get(2).asInt());
      }
    }
    return null;
  }

  private static String firstDataFormat(JsonNode config) {
    for (JsonNode layer : layers(config)) {
      JsonNode f = layer.path("config").path("data_format");
      if (f.isTextual()) {
        return f.asText();
      }
    }
    return "channels_last";
  }

  private static List<JsonNode> layers(JsonNode config) {
    JsonNode c = config.path("config");
    JsonNode layers = c.isArray() ? c : c.path("layers");
    List<JsonNode> out = new ArrayList<>();
    layers.forEach(out::add);
    return out;
  }

  /** One line naming the layer(s) of the unsupported class. */
  private static String unsupported(Path file, JsonNode config, String message) {
    Matcher m = UNSUPPORTED_TYPE.matcher(message == null ? "" : message);
    if (m.find()) {
      String type = m.group(1);
      List<String> names = new ArrayList<>();
      for (JsonNode layer : layers(config)) {
        if (type.equals(layer.path("class_name").asText())) {
          names.add(layer.path("config").path("name").asText(layer.path("name").asText("?")));
        }
      }
      return "cannot import " + file + ": layer " + (names.isEmpty() ? "?" : String.join(", ", names)) + " of class " + type
          + " is not supported by DL4J's Keras import";
    }
    return "cannot import " + file + ": " + firstLine(message);
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "(no message)";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
