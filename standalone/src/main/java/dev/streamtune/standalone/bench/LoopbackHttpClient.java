package dev.streamtune.standalone.bench;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A minimal blocking HTTP/1.1 client on one keep-alive loopback connection, for load generation: one request at a time, request
 * bytes prepared by the caller, the status and body of each answer read back. Far cheaper in CPU than {@code java.net.http}, so
 * that on a two-core machine the clients take as little as possible from the server they measure. Not thread-safe: one per
 * client thread.
 */
final class LoopbackHttpClient implements AutoCloseable {
  /** One answer: the status code and the body as text. */
  record Response(int status, String body) {}

  private final String host;
  private final int port;
  private Socket socket;
  private OutputStream out;
  private InputStream in;

  LoopbackHttpClient(String host, int port) {
    this.host = host;
    this.port = port;
  }

  /** The bytes of a POST with the given body, ready to send as many times as wanted. */
  static byte[] post(String host, int port, String path, String contentType, byte[] body) {
    return post(host, port, path, contentType, "", body);
  }

  /** The same with more header lines, each ending in CRLF. */
  static byte[] post(String host, int port, String path, String contentType, String headers, byte[] body) {
    byte[] head = ("POST " + path + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\nContent-Type: " + contentType
        + "\r\nContent-Length: " + body.length + "\r\n" + headers + "Connection: keep-alive\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);
    byte[] all = new byte[head.length + body.length];
    System.arraycopy(head, 0, all, 0, head.length);
    System.arraycopy(body, 0, all, head.length, body.length);
    return all;
  }

  /** Sends a prepared request and reads its answer; reconnects once when the server closed an idle connection. */
  Response send(byte[] request) throws IOException {
    boolean fresh = socket == null;
    try {
      connect();
      out.write(request);
      out.flush();
      return read();
    } catch (IOException e) {
      close();
      if (fresh) {
        throw e;
      }
      connect();
      out.write(request);
      out.flush();
      return read();
    }
  }

  private void connect() throws IOException {
    if (socket != null) {
      return;
    }
    Socket s = new Socket();
    // without it a small request or answer may wait for a delayed ACK (tens of ms on loopback)
    s.setTcpNoDelay(true);
    s.connect(new InetSocketAddress(host, port), 10_000);
    s.setSoTimeout(60_000);
    socket = s;
    out = s.getOutputStream();
    in = new BufferedInputStream(s.getInputStream(), 1 << 16);
  }

  private Response read() throws IOException {
    String status = line();
    if (!status.startsWith("HTTP/1.")) {
      throw new IOException("not an HTTP answer: '" + status + "'");
    }
    int code = Integer.parseInt(status.substring(9, 12));
    int length = -1;
    boolean close = false;
    boolean chunked = false;
    for (String h = line(); !h.isEmpty(); h = line()) {
      String lower = h.toLowerCase(Locale.ROOT);
      if (lower.startsWith("content-length:")) {
        length = Integer.parseInt(h.substring(15).trim());
      } else if (lower.startsWith("connection:") && lower.contains("close")) {
        close = true;
      } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
        chunked = true;
      }
    }
    byte[] body;
    if (chunked) {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      for (int n = Integer.parseInt(line().split(";")[0].trim(), 16); n > 0; n = Integer.parseInt(line().split(";")[0].trim(), 16)) {
        b.write(in.readNBytes(n));
        line();
      }
      line();
      body = b.toByteArray();
    } else {
      body = length < 0 ? new byte[0] : in.readNBytes(length);
    }
    if (close) {
      close();
    }
    return new Response(code, new String(body, StandardCharsets.UTF_8));
  }

  private String line() throws IOException {
    StringBuilder sb = new StringBuilder(64);
    int c;
    while ((c = in.read()) != -1) {
      if (c == '\n') {
        int n = sb.length();
        return n > 0 && sb.charAt(n - 1) == '\r' ? sb.substring(0, n - 1) : sb.toString();
      }
      sb.append((char) c);
    }
    throw new IOException("connection closed by the server");
  }

  @Override
  public void close() {
    if (socket != null) {
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing a loopback socket: nothing to recover
      }
    }
    socket = null;
    out = null;
    in = null;
  }
}
