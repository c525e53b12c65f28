package dev.streamtune.core.model;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One view over DL4J's two network classes, {@link MultiLayerNetwork} and a single-input, single-output
 * {@link ComputationGraph}: inference, the activations of a named layer, layer names, copies and files. Code that must do
 * something only one class can (a fine-tune's builder) asks {@link #type()} and takes {@link #multiLayer()} or {@link #graph()}.
 *
 * <p>Not thread-safe, like the networks it wraps: one owner at a time (serving batches requests onto one inference thread).
 */
public final class Network {
  private final MultiLayerNetwork multiLayer;
  private final ComputationGraph graph;

  private Network(MultiLayerNetwork multiLayer, ComputationGraph graph) {
    this.multiLayer = multiLayer;
    this.graph = graph;
  }

  /** Wraps a {@link MultiLayerNetwork} or a {@link ComputationGraph} with one input and one output. */
  public static Network of(Model model) {
    Objects.requireNonNull(model, "model");
    if (model instanceof MultiLayerNetwork m) {
      return new Network(m, null);
    }
    if (model instanceof ComputationGraph g) {
      if (g.getNumInputArrays() != 1 || g.getNumOutputArrays() != 1) {
        throw new IllegalArgumentException("a graph with one input and one output is needed; this one has "
            + g.getNumInputArrays() + " inputs and " + g.getNumOutputArrays() + " outputs");
      }
      return new Network(null, g);
    }
    throw new IllegalArgumentException("not a MultiLayerNetwork or ComputationGraph: " + model.getClass().getName());
  }

  /**
   * Reads a DL4J zip ({@link ModelSerializer}) of either class, telling them apart by the configuration inside.
   *
   * @throws IOException when the file cannot be read or holds no DL4J network
   */
  public static Network restore(File zip, boolean loadUpdater) throws IOException {
    return isGraph(zip) ? of(ModelSerializer.restoreComputationGraph(zip, loadUpdater))
        : of(ModelSerializer.restoreMultiLayerNetwork(zip, loadUpdater));
  }

  /** Whether a DL4J zip holds a {@link ComputationGraph} (its configuration has {@code vertices}). */
  public static boolean isGraph(File zip) throws IOException {
    try (ZipFile z = new ZipFile(zip)) {
      ZipEntry conf = z.getEntry("configuration.json");
      if (conf == null) {
        throw new IOException(zip + " is not a DL4J model zip (no configuration.json)");
      }
      try (InputStream in = z.getInputStream(conf)) {
        String json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        return json.contains("\"vertices\"") && json.contains("\"networkInputs\"");
      }
    }
  }

  /** Writes the network as a DL4J zip. */
  public void save(File zip, boolean saveUpdater) throws IOException {
    ModelSerializer.writeModel(model(), zip, saveUpdater);
  }

  public ModelSpec.NetworkType type() {
    return graph != null ? ModelSpec.NetworkType.GRAPH : ModelSpec.NetworkType.MULTI_LAYER;
  }

  /** The wrapped DL4J model. */
  public Model model() {
    return graph != null ? graph : multiLayer;
  }

  /** The wrapped network when it is a {@link MultiLayerNetwork}. */
  public MultiLayerNetwork multiLayer() {
    if (multiLayer == null) {
      throw new IllegalStateException("this network is a ComputationGraph, not a MultiLayerNetwork");
    }
    return multiLayer;
  }

  /** The wrapped network when it is a {@link ComputationGraph}. */
  public ComputationGraph graph() {
    if (graph == null) {
      throw new IllegalStateException("this network is a MultiLayerNetwork, not a ComputationGraph");
    }
    return graph;
  }

  /** Inference (no dropout, batch norm on its running statistics): the output layer's activations for a batch. */
  public INDArray output(INDArray input) {
    return graph != null ? graph.outputSingle(false, input) : multiLayer.output(input, false);
  }

  /**
   * The activations of a named layer or vertex for a batch, in inference mode, as a detached array ({@code [N, ...]} as the
   * layer gives them).
   *
   * @throws IllegalArgumentException naming the layers when there is none of that name
   */
  public INDArray activations(String layer, INDArray input) {
    if (graph != null) {
      vertex(layer);
      // the whole pass: DL4J's partial feedForward(inputs, n, train) takes an index whose meaning differs between its entry
      // points (a layer's index, then matched against vertex indices), and stops short of some vertices; the layers above a
      // boundary or an embedding are the cheap part of a network
      return graph.feedForward(new INDArray[] {input}, false).get(layer).detach();
    }
    int i = layerIndex(layer);
    return multiLayer.feedForwardToLayer(i, input, false).get(i + 1).detach();
  }

  /**
   * The activations of a named layer flattened to one row per image, {@code [N, features]} ('c' order), as float: an
   * embedding, whatever the layer's own shape.
   */
  public INDArray features(String layer, INDArray input) {
    return flat(activations(layer, input));
  }

  /** Activations as one float row per image ('c' order). */
  private static INDArray flat(INDArray a) {
    INDArray f = a.rank() == 2 ? a : a.dup('c').reshape('c', a.size(0), a.length() / a.size(0));
    return f.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT);
  }

  /** A layer's features ({@code [N, features]}, float) and the output, from one inference pass. */
  public record Pass(INDArray features, INDArray output) {}

  /** {@link #features} of a named layer and {@link #output} of the same batch, in one pass through the network. */
  public Pass featuresAndOutput(String layer, INDArray input) {
    INDArray a;
    INDArray out;
    if (graph != null) {
      vertex(layer);
      java.util.Map<String, INDArray> all = graph.feedForward(new INDArray[] {input}, false);
      a = all.get(layer).detach();
      out = all.get(outputName()).detach();
    } else {
      int i = layerIndex(layer);
      List<INDArray> all = multiLayer.feedForward(input, false);
      a = all.get(i + 1).detach();
      out = all.get(all.size() - 1).detach();
    }
    return new Pass(flat(a), out);
  }

  /** Layer (or non-input vertex) names, bottom to top (a graph's topological order). */
  public List<String> layerNames() {
    List<String> out = new ArrayList<>();
    if (graph != null) {
      GraphVertex[] vs = graph.getVertices();
      for (int i : graph.topologicalSortOrder()) {
        if (!vs[i].isInputVertex()) {
          out.add(vs[i].getVertexName());
        }
      }
      return out;
    }
    for (int i = 0; i < multiLayer.getnLayers(); i++) {
      out.add(multiLayer.getLayer(i).conf().getLayer().getLayerName());
    }
    return out;
  }

  /** The name of the top (output) layer. */
  public String outputName() {
    return graph != null ? graph.getConfiguration().getNetworkOutputs().get(0) : layerNames().get(multiLayer.getnLayers() - 1);
  }

  /** The layer of a name ({@code null} for a graph vertex that is no layer, such as an add). */
  public Layer layer(String name) {
    return graph != null ? vertex(name).getLayer() : multiLayer.getLayer(layerIndex(name));
  }

  /** Checks that a layer of this name exists, with an error that lists the names. */
  public String requireLayer(String name, String what) {
    if (!layerNames().contains(name)) {
      throw new IllegalArgumentException(what + " '" + name + "' is not a layer of this network; its layers are " + layerNames());
    }
    return name;
  }

  /** A deep copy (parameters, configuration and updater state). */
  public Network copy() {
    return graph != null ? new Network(null, graph.clone()) : new Network(multiLayer.clone(), null);
  }

  /** One training step on a batch (the network's own updater); the loss after it. */
  public double fit(org.nd4j.linalg.dataset.DataSet batch) {
    if (graph != null) {
      graph.fit(batch);
      return graph.score();
    }
    multiLayer.fit(batch);
    return multiLayer.score();
  }

  /** Replaces all parameters (same length as {@link #params()}). */
  public void setParams(INDArray params) {
    model().setParams(params);
  }

  /** All parameters as one row vector (a view). */
  public INDArray params() {
    return model().params();
  }

  public long numParams() {
    return model().numParams();
  }

  private GraphVertex vertex(String name) {
    GraphVertex v = graph.getVertex(name);
    if (v == null || v.isInputVertex()) {
      throw new IllegalArgumentException("no layer named '" + name + "', layers are " + layerNames());
    }
    return v;
  }

  private int layerIndex(String name) {
    return Networks.layerIndex(multiLayer, name);
  }
}
