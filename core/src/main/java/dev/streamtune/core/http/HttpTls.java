package dev.streamtune.core.http;

import dev.streamtune.core.config.ConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * TLS for the services' HTTP servers: a key store (PKCS12, or JKS) holding the server's key and certificate chain, and its
 * password ({@code streamtune.http.tls.keystore}, {@code streamtune.http.tls.password}). Read once at start-up: a missing file, a
 * wrong password or a store without a key stops the service with the key named.
 *
 * @param keystore the key store file
 * @param password its password (and the key's)
 */
public record HttpTls(Path keystore, char[] password) {
  public static final String KEYSTORE = "streamtune.http.tls.keystore";
  public static final String PASSWORD = "streamtune.http.tls.password";

  /** The server's TLS context (TLS 1.2 and 1.3, the JDK's defaults). */
  public SSLContext context() {
    try (InputStream in = Files.newInputStream(keystore)) {
      KeyStore ks = KeyStore.getInstance(keystore.toString().endsWith(".jks") ? "JKS" : "PKCS12");
      ks.load(in, password);
      boolean hasKey = false;
      for (var aliases = ks.aliases(); aliases.hasMoreElements(); ) {
        hasKey |= ks.isKeyEntry(aliases.nextElement());
      }
      if (!hasKey) {
        throw new ConfigException(KEYSTORE, keystore.toString(), "holds no private key");
      }
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, password);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf.getKeyManagers(), null, null);
      return ctx;
    } catch (IOException e) {
      throw new ConfigException(KEYSTORE, keystore.toString(), "cannot be read: " + e.getMessage()
          + (e.getCause() instanceof java.security.UnrecoverableKeyException ? " (wrong " + PASSWORD + "?)" : ""));
    } catch (GeneralSecurityException e) {
      throw new ConfigException(KEYSTORE, keystore.toString(), "cannot be used: " + e.getMessage());
    }
  }

  @Override
  public String toString() {
    return "HttpTls[keystore=" + keystore + ", password=(hidden)]";
  }
}
