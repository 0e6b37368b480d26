package dev.vigil.infra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/** Loopback ports: find a free one, or fail fast, naming the port, when a chosen one is taken. */
public final class Ports {
  private Ports() {}

  /** A port free on 127.0.0.1 right now. */
  public static int free() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find a free loopback port", e);
    }
  }

  /** Fails with a message naming {@code port} and {@code what} when the port is in use. */
  public static void ensureFree(int port, String what, String option) {
    try (ServerSocket s = new ServerSocket()) {
      // As the servers bind (SO_REUSEADDR): a listener makes the port taken, the TIME_WAIT
      // connections a run that just ended leaves behind for a minute do not.
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
    } catch (IOException e) {
      throw new IllegalStateException("port " + port + " on 127.0.0.1 is in use (by another"
          + " process), so " + what + " cannot start there; choose another with " + option);
    }
  }
}
