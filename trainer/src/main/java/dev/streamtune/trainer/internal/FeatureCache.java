package dev.streamtune.trainer.internal;

import dev.streamtune.core.model.Networks;
import dev.streamtune.trainer.FineTuner;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.CRC32;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The frozen part's output per sample, computed once per sample id and backbone (model version and freeze boundary) and reused by
 * later retrains. The newest entries are kept in memory up to a byte bound (least recently used first out); an entry pushed out
 * is spilled to a file under the cache directory, read back on the next use. Every file carries its sample id, backbone key,
 * length and a CRC-32 of the whole; a file that does not check out is deleted and the entry recomputed, never trusted.
 *
 * <p>The files are bounded too: when they take more than the disk bound, the least recently used ones (written or read by this
 * cache; on the first disk access, files left by an earlier process count by their modification time) are deleted until they
 * fit. A pruned entry is recomputed when next needed. The bound counts the files this process knows of: two processes must not
 * share one directory.
 *
 * <p>A backbone key must change whenever the frozen layers' weights may have changed: use {@link #backboneKey}. Thread-safe (one
 * lock; the trainer has one training thread).
 */
public final class FeatureCache {
  private static final Logger log = LoggerFactory.getLogger(FeatureCache.class);
  private static final int MAGIC = 0x53544643; // "STFC"
  private static final int FORMAT = 1;

  /** What a lookup found: the features {@code [N, F]} in the order asked, and how many came from memory, disk, or the network. */
  public record Lookup(INDArray features, int memoryHits, int diskHits, int computed, int corrupt) {
    /** Samples that did not need the backbone. */
    public int hits() {
      return memoryHits + diskHits;
    }
  }

  private final Path dir;
  private final long maxBytes;
  private final long diskMaxBytes;
  private final LinkedHashMap<String, float[]> memory = new LinkedHashMap<>(1024, 0.75f, true);
  /** Spilled files and their sizes, least recently used first. */
  private final LinkedHashMap<Path, Long> onDisk = new LinkedHashMap<>(1024, 0.75f, true);
  private boolean scanned;
  private long bytes;
  private long diskBytes;
  private long spilled;
  private long pruned;

  /**
   * A cache whose files on disk are not bounded.
   *
   * @param dir where evicted entries are spilled (created when needed)
   * @param maxBytes the in-memory bound, at least one entry is always kept
   */
  public FeatureCache(Path dir, long maxBytes) {
    this(dir, maxBytes, Long.MAX_VALUE);
  }

  /**
   * @param dir where evicted entries are spilled (created when needed)
   * @param maxBytes the in-memory bound, at least one entry is always kept
   * @param diskMaxBytes the bound of the spilled files' total size; the least recently used files are deleted beyond it (the
   *     newest file is always kept)
   */
  public FeatureCache(Path dir, long maxBytes, long diskMaxBytes) {
    this.dir = Objects.requireNonNull(dir, "dir");
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("maxBytes must be > 0, was " + maxBytes);
    }
    if (diskMaxBytes <= 0) {
      throw new IllegalArgumentException("diskMaxBytes must be > 0, was " + diskMaxBytes);
    }
    this.maxBytes = maxBytes;
    this.diskMaxBytes = diskMaxBytes;
  }

  /** The key of a backbone: model, version, a prefix of its checksum (when known) and the freeze boundary. */
  public static String backboneKey(String model, int version, String sha256, String boundary) {
    String sha = sha256 == null ? "nosha" : sha256.substring(0, Math.min(16, sha256.length()));
    return (model + "-v" + version + "-" + sha + "-" + boundary).replaceAll("[^A-Za-z0-9._-]", "_");
  }

  /**
   * The frozen activations of each sample, from the cache where present and valid, otherwise computed with
   * {@link FineTuner#frozenActivations} on {@code net} (in batches of {@code batchSize}) and cached.
   *
   * @param ids sample ids, one per image, unique
   * @param images pixels in [0,1], {@code side*side} each
   */
  public synchronized Lookup features(String backboneKey, MultiLayerNetwork net, String boundary, List<String> ids,
      List<float[]> images, int side, int batchSize) {
    return features(backboneKey, batch -> {
      int px = side * side;
      float[] flat = new float[batch.size() * px];
      for (int j = 0; j < batch.size(); j++) {
        System.arraycopy(batch.get(j), 0, flat, j * px, px);
      }
      return FineTuner.frozenActivations(net, boundary, Networks.floats(flat, batch.size(), 1, side, side));
    }, ids, images, batchSize);
  }

  /** Computes the frozen part's output for a batch of images, flat {@code [n, F]}. */
  @FunctionalInterface
  public interface Extractor {
    INDArray extract(List<float[]> images);
  }

  /**
   * The frozen activations of each sample, from the cache where present and valid, otherwise computed by {@code extractor} (in
   * batches of {@code batchSize}) and cached: any network class, any input.
   *
   * @param ids sample ids, one per image, unique
   * @param images the images as the extractor takes them
   */
  public synchronized Lookup features(String backboneKey, Extractor extractor, List<String> ids, List<float[]> images,
      int batchSize) {
    if (ids.size() != images.size() || ids.isEmpty()) {
      throw new IllegalArgumentException("need one id per image and at least one: " + ids.size() + " ids, " + images.size()
          + " images");
    }
    float[][] rows = new float[ids.size()][];
    int mem = 0;
    int disk = 0;
    int corrupt = 0;
    List<Integer> missing = new ArrayList<>();
    for (int i = 0; i < rows.length; i++) {
      String key = key(backboneKey, ids.get(i));
      float[] f = memory.get(key);
      if (f != null) {
        mem++;
      } else {
        ReadResult r = readSpilled(backboneKey, ids.get(i));
        if (r.corrupt) {
          corrupt++;
        }
        f = r.features;
        if (f != null) {
          disk++;
          put(key, backboneKey, ids.get(i), f);
        }
      }
      rows[i] = f;
      if (f == null) {
        missing.add(i);
      }
    }
    for (int from = 0; from < missing.size(); from += batchSize) {
      int to = Math.min(missing.size(), from + batchSize);
      List<float[]> batch = new ArrayList<>(to - from);
      for (int j = from; j < to; j++) {
        batch.add(images.get(missing.get(j)));
      }
      float[][] computed = extractor.extract(batch).toFloatMatrix();
      for (int j = from; j < to; j++) {
        int i = missing.get(j);
        rows[i] = computed[j - from];
        put(key(backboneKey, ids.get(i)), backboneKey, ids.get(i), rows[i]);
      }
    }
    int width = rows[0].length;
    float[] all = new float[rows.length * width];
    for (int i = 0; i < rows.length; i++) {
      if (rows[i].length != width) {
        throw new IllegalStateException("cached features of " + ids.get(i) + " have " + rows[i].length + " values, others "
            + width + ": backbone key " + backboneKey + " names two different backbones");
      }
      System.arraycopy(rows[i], 0, all, i * width, width);
    }
    return new Lookup(Networks.floats(all, rows.length, width), mem, disk, missing.size(), corrupt);
  }

  /** Bytes held in memory. */
  public synchronized long memoryBytes() {
    return bytes;
  }

  /** Entries held in memory. */
  public synchronized int memoryEntries() {
    return memory.size();
  }

  /** Entries written to disk since this cache was made. */
  public synchronized long spilled() {
    return spilled;
  }

  /** Bytes of the spilled files this cache knows of (after its first disk access, those left by earlier processes too). */
  public synchronized long diskBytes() {
    return diskBytes;
  }

  /** Spilled files this cache knows of. */
  public synchronized int diskEntries() {
    return onDisk.size();
  }

  /** Files deleted to keep within the disk bound since this cache was made. */
  public synchronized long pruned() {
    return pruned;
  }

  /** Drops the in-memory entries (the spilled files stay): the next lookup reads from disk. */
  public synchronized void clearMemory() {
    for (Map.Entry<String, float[]> e : memory.entrySet()) {
      String[] parts = e.getKey().split("\u0000", 2);
      spill(parts[0], parts[1], e.getValue());
    }
    memory.clear();
    bytes = 0;
  }

  /** The file an entry spills to (for tests and operators). */
  public Path fileOf(String backboneKey, String sampleId) {
    return dir.resolve(backboneKey).resolve(sha256Hex(sampleId) + ".f32");
  }

  private static String key(String backboneKey, String id) {
    return backboneKey + "\u0000" + id;
  }

  private void put(String key, String backboneKey, String id, float[] f) {
    float[] old = memory.put(key, f);
    bytes += entryBytes(f) - (old == null ? 0 : entryBytes(old));
    Iterator<Map.Entry<String, float[]>> it = memory.entrySet().iterator();
    while (bytes > maxBytes && memory.size() > 1 && it.hasNext()) {
      Map.Entry<String, float[]> eldest = it.next();
      if (eldest.getKey().equals(key)) {
        continue;
      }
      String[] parts = eldest.getKey().split("\u0000", 2);
      spill(parts[0], parts[1], eldest.getValue());
      bytes -= entryBytes(eldest.getValue());
      it.remove();
    }
  }

  private static long entryBytes(float[] f) {
    return 4L * f.length + 64;
  }

  private void spill(String backboneKey, String id, float[] f) {
    scanOnce();
    Path file = fileOf(backboneKey, id);
    if (onDisk.get(file) != null) {
      return;
    }
    try {
      Files.createDirectories(file.getParent());
      Path tmp = Files.createTempFile(file.getParent(), ".spill", ".tmp");
      byte[] encoded = encode(backboneKey, id, f);
      Files.write(tmp, encoded);
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
      spilled++;
      onDisk.put(file, (long) encoded.length);
      diskBytes += encoded.length;
      prune(file);
    } catch (IOException e) {
      // a cache that cannot spill only costs recomputation later; the entry is dropped, never half-written
      log.warn("feature cache cannot spill {} to {}: {}", id, file, e.toString());
    }
  }

  /** Deletes the least recently used files until the rest fit the disk bound; {@code keep} (the newest) stays. */
  private void prune(Path keep) {
    Iterator<Map.Entry<Path, Long>> it = onDisk.entrySet().iterator();
    while (diskBytes > diskMaxBytes && it.hasNext()) {
      Map.Entry<Path, Long> eldest = it.next();
      if (eldest.getKey().equals(keep)) {
        continue;
      }
      try {
        Files.deleteIfExists(eldest.getKey());
      } catch (IOException e) {
        // counted out anyway: a file that cannot be deleted must not stop the cache from writing the next ones
        log.warn("feature cache cannot delete {}: {}", eldest.getKey(), e.toString());
      }
      diskBytes -= eldest.getValue();
      pruned++;
      it.remove();
    }
  }

  /** On the first disk access, counts the files an earlier process left (oldest first) and prunes them to the bound. */
  private void scanOnce() {
    if (scanned) {
      return;
    }
    scanned = true;
    if (!Files.isDirectory(dir)) {
      return;
    }
    record Found(Path path, long size, long modified) {}
    List<Found> found = new ArrayList<>();
    try (java.util.stream.Stream<Path> files = Files.walk(dir, 2)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        if (p.getFileName().toString().endsWith(".f32")) {
          try {
            java.nio.file.attribute.BasicFileAttributes a = Files.readAttributes(p,
                java.nio.file.attribute.BasicFileAttributes.class);
            if (a.isRegularFile()) {
              found.add(new Found(p, a.size(), a.lastModifiedTime().toMillis()));
            }
          } catch (IOException e) {
            // gone meanwhile: nothing to count
          }
        }
      }
    } catch (IOException | UncheckedIOException e) {
      log.warn("feature cache cannot list {}: {}; files left there are not counted against the disk bound", dir, e.toString());
      return;
    }
    found.sort(java.util.Comparator.comparingLong(Found::modified));
    for (Found f : found) {
      onDisk.put(f.path(), f.size());
      diskBytes += f.size();
    }
    prune(null);
    if (!found.isEmpty()) {
      log.info("feature cache {}: {} files ({} bytes) from earlier runs, {} kept within the disk bound of {} bytes", dir,
          found.size(), found.stream().mapToLong(Found::size).sum(), onDisk.size(), diskMaxBytes);
    }
  }

  private record ReadResult(float[] features, boolean corrupt) {}

  private ReadResult readSpilled(String backboneKey, String id) {
    scanOnce();
    Path file = fileOf(backboneKey, id);
    if (onDisk.get(file) == null) {
      // not written by this cache, not found at the start, or pruned: not there (a stat per miss would cost more)
      return new ReadResult(null, false);
    }
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      forget(file);
      return new ReadResult(null, false);
    } catch (IOException e) {
      log.warn("feature cache cannot read {}: {}", file, e.toString());
      return new ReadResult(null, false);
    }
    float[] f = decode(bytes, backboneKey, id);
    if (f == null) {
      log.warn("feature cache entry {} for sample {} is corrupt: deleted, recomputing", file, id);
      try {
        Files.deleteIfExists(file);
      } catch (IOException e) {
        log.warn("feature cache cannot delete {}: {}", file, e.toString());
      }
      forget(file);
      return new ReadResult(null, true);
    }
    return new ReadResult(f, false);
  }

  private void forget(Path file) {
    Long size = onDisk.remove(file);
    if (size != null) {
      diskBytes -= size;
    }
  }

  static byte[] encode(String backboneKey, String id, float[] f) {
    try {
      ByteArrayOutputStream bos = new ByteArrayOutputStream(64 + 4 * f.length);
      DataOutputStream out = new DataOutputStream(bos);
      out.writeInt(MAGIC);
      out.writeInt(FORMAT);
      out.writeUTF(backboneKey);
      out.writeUTF(id);
      out.writeInt(f.length);
      ByteBuffer buf = ByteBuffer.allocate(4 * f.length).order(ByteOrder.BIG_ENDIAN);
      buf.asFloatBuffer().put(f);
      out.write(buf.array());
      out.flush();
      CRC32 crc = new CRC32();
      crc.update(bos.toByteArray());
      out.writeLong(crc.getValue());
      out.flush();
      return bos.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The features in a file's bytes, or null when they are not a whole, matching, checksummed entry. */
  static float[] decode(byte[] bytes, String backboneKey, String id) {
    if (bytes.length < 8 + 4 + 8) {
      return null;
    }
    CRC32 crc = new CRC32();
    crc.update(bytes, 0, bytes.length - 8);
    if (crc.getValue() != ByteBuffer.wrap(bytes, bytes.length - 8, 8).getLong()) {
      return null;
    }
    try {
      DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(bytes, 0, bytes.length - 8));
      if (in.readInt() != MAGIC || in.readInt() != FORMAT || !in.readUTF().equals(backboneKey) || !in.readUTF().equals(id)) {
        return null;
      }
      int n = in.readInt();
      if (n <= 0 || in.available() != 4L * n) {
        return null;
      }
      byte[] raw = in.readNBytes(4 * n);
      float[] f = new float[n];
      ByteBuffer.wrap(raw).order(ByteOrder.BIG_ENDIAN).asFloatBuffer().get(f);
      return f;
    } catch (IOException e) {
      return null;
    }
  }

  private static String sha256Hex(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
