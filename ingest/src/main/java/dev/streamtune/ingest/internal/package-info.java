/**
 * The ingest service's internals: the validators shared by the topology and HTTP, the stream processors, the metrics binder,
 * the Kafka Streams properties (with core's error handlers) and the HTTP routes. Not for use outside the ingest module.
 */
package dev.streamtune.ingest.internal;
