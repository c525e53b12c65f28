/**
 * The ingest service: validates labelled images from {@code samples.raw} into {@code samples} (or {@code samples.rejected} with a
 * reason), joins served {@code inputs} with {@code feedback} into {@code samples}, and takes samples and feedback over HTTP.
 * {@link dev.streamtune.ingest.IngestConfig} configures it, {@link dev.streamtune.ingest.IngestTopology} builds its stream
 * graph and {@link dev.streamtune.ingest.IngestService} runs it.
 */
package dev.streamtune.ingest;
