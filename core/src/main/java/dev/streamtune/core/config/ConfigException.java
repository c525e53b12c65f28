package dev.streamtune.core.config;

/** A configuration value that is missing or invalid; the message names the key and the value. */
public class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final String key;

  public ConfigException(String key, String value, String problem) {
    super("invalid configuration " + key + "=" + (value == null ? "<missing>" : "'" + value + "'") + ": " + problem);
    this.key = key;
  }

  public String key() {
    return key;
  }
}
