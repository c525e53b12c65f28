package dev.streamtune.core;

/** The life of a service, reported on {@code /health/ready}: ready only when {@link #RUNNING}. */
public enum ServiceState {
  STARTING, RUNNING, DRAINING, STOPPED, FAILED
}
