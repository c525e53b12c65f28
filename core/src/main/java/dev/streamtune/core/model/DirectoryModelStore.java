package dev.streamtune.core.model;

import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.records.TrainingSummary;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.deeplearning4j.nn.api.Model;

/** The model store as a directory (local or a shared volume). Versions are renamed into place atomically. */
public final class DirectoryModelStore implements ModelStore {
  private final Path root;

  public DirectoryModelStore(Path root) {
    this.root = root.toAbsolutePath().normalize();
    try {
      Files.createDirectories(this.root);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create model store " + this.root, e);
    }
  }

  public Path root() {
    return root;
  }

  /**
   * The directory of a version; the name is checked first ({@link ModelStore#checkName}), so no record can make the store
   * read or write outside its root.
   */
  public Path dir(String model, int version) {
    return root.resolve(ModelStore.checkName(model)).resolve(Integer.toString(version));
  }

  @Override
  public List<Integer> versions(String model) {
    Path m = root.resolve(ModelStore.checkName(model));
    if (!Files.isDirectory(m)) {
      return List.of();
    }
    List<Integer> out = new ArrayList<>();
    try (Stream<Path> s = Files.list(m)) {
      s.forEach(p -> {
        String n = p.getFileName().toString();
        if (n.matches("\\d+") && Files.isRegularFile(p.resolve("manifest.json"))) {
          out.add(Integer.parseInt(n));
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + m, e);
    }
    out.sort(Comparator.naturalOrder());
    return out;
  }

  @Override
  public Optional<Manifest> manifest(String model, int version) {
    Path f = dir(model, version).resolve("manifest.json");
    if (!Files.isRegularFile(f)) {
      return Optional.empty();
    }
    try {
      return Optional.of(Json.fromBytes(Files.readAllBytes(f), Manifest.class));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + f, e);
    }
  }

  @Override
  public synchronized Manifest save(String model, Model network, ModelSpec spec, Integer parent,
      TrainingSummary training, Map<String, Double> evaluation, Provenance provenance) {
    Network net = Network.of(network);
    spec = spec.withNetwork(net.type());
    for (String layer : spec.layers()) {
      net.requireLayer(layer, "the spec's layer");
    }
    Path tmp = root.resolve(ModelStore.checkName(model)).resolve(".tmp-" + UUID.randomUUID());
    try {
      Files.createDirectories(tmp);
      Path zip = tmp.resolve("model.zip");
      net.save(zip.toFile(), false);
      String sha = sha256(zip);
      for (int attempt = 0; attempt < 100; attempt++) {
        List<Integer> v = versions(model);
        int version = v.isEmpty() ? 1 : v.get(v.size() - 1) + 1;
        Manifest manifest = new Manifest(Versioned.CURRENT, model, version, parent, Instant.now(), sha, spec, training, evaluation,
            provenance);
        Files.write(tmp.resolve("manifest.json"), Json.toPrettyString(manifest).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        try {
          Files.move(tmp, dir(model, version), StandardCopyOption.ATOMIC_MOVE);
          return manifest;
        } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
          // another writer took this version: take the next one
        } catch (AtomicMoveNotSupportedException e) {
          throw new IllegalStateException("the model store " + root + " does not support atomic renames", e);
        }
      }
      throw new IllegalStateException("could not allocate a version for " + model + " in " + root);
    } catch (IOException e) {
      deleteQuietly(tmp);
      throw new UncheckedIOException("cannot save " + model + " to " + root, e);
    }
  }

  @Override
  public LoadedModel load(String model, int version, String expectedSha256) {
    try {
      ModelStore.checkName(model);
    } catch (IllegalArgumentException e) {
      throw new ModelVerificationException(e.getMessage());
    }
    Manifest manifest = manifest(model, version)
        .orElseThrow(() -> new ModelVerificationException("no version " + version + " of model '" + model + "' in " + root));
    Path zip = dir(model, version).resolve("model.zip");
    String actual;
    try {
      actual = sha256(zip);
    } catch (IOException e) {
      throw new ModelVerificationException("cannot read " + zip + ": " + e.getMessage(), e);
    }
    if (!actual.equals(manifest.sha256())) {
      throw new ModelVerificationException(
          model + " v" + version + ": model.zip sha256 " + actual + " does not match the manifest's " + manifest.sha256());
    }
    if (expectedSha256 != null && !actual.equals(expectedSha256)) {
      throw new ModelVerificationException(
          model + " v" + version + ": model.zip sha256 " + actual + " does not match the announced " + expectedSha256);
    }
    try {
      Network net = Network.restore(zip.toFile(), false);
      if (net.type() != manifest.spec().network()) {
        throw new ModelVerificationException(model + " v" + version + ": model.zip holds a " + net.type().id()
            + " network, the manifest says " + manifest.spec().network().id());
      }
      return new LoadedModel(manifest, net);
    } catch (ModelVerificationException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw new ModelVerificationException("cannot load " + zip + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String uri(String model, int version) {
    return dir(model, version).toUri().toString();
  }

  /** The hex sha256 of a file. */
  public static String sha256(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void deleteQuietly(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // best effort: a leftover .tmp- directory is never read as a version
    }
  }
}
