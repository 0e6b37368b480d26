package dev.vigil.infra.tls;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Certificates made at test time with the JDK's {@code keytool} (Kafka ships no certificate
 * tooling and the JDK has no public API to sign one): a self-signed server certificate for
 * {@code localhost} / {@code 127.0.0.1}, a self-signed client certificate ({@code
 * CN=vigil-client}, for mutual TLS), and a truststore holding both. PKCS12 stores, one random
 * password for all of them. Nothing here is ever committed: the files live in the directory given
 * (a test's temp dir).
 *
 * @param serverKeystore the server's key and certificate
 * @param clientKeystore the client's key and certificate
 * @param truststore both certificates: trusts the server (clients) and the client (the server)
 * @param password the password of the three stores and of their keys
 */
public record TestCertificates(
    Path serverKeystore, Path clientKeystore, Path truststore, String password) {

  /** The store type of every file here. */
  public static final String TYPE = "PKCS12";

  /** Makes the three stores in {@code dir} (about 3 s: six keytool runs). */
  public static TestCertificates generate(Path dir) {
    String password = randomPassword();
    Path server = dir.resolve("server.p12");
    Path client = dir.resolve("client.p12");
    Path trust = dir.resolve("truststore.p12");
    Path serverCert = dir.resolve("server.crt");
    Path clientCert = dir.resolve("client.crt");
    keyPair(server, "server", "CN=localhost", "SAN=dns:localhost,ip:127.0.0.1", password);
    keyPair(client, "client", "CN=vigil-client", null, password);
    keytool("-exportcert", "-rfc", "-alias", "server", "-keystore", server.toString(),
        "-storepass", password, "-file", serverCert.toString());
    keytool("-exportcert", "-rfc", "-alias", "client", "-keystore", client.toString(),
        "-storepass", password, "-file", clientCert.toString());
    keytool("-importcert", "-noprompt", "-alias", "server", "-file", serverCert.toString(),
        "-keystore", trust.toString(), "-storetype", TYPE, "-storepass", password);
    keytool("-importcert", "-noprompt", "-alias", "client", "-file", clientCert.toString(),
        "-keystore", trust.toString(), "-storetype", TYPE, "-storepass", password);
    return new TestCertificates(server, client, trust, password);
  }

  /** 24 letters and digits: safe in JAAS configs and in kafka-storage's SCRAM syntax. */
  public static String randomPassword() {
    String alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    SecureRandom random = new SecureRandom();
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 24; i++) {
      b.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return b.toString();
  }

  private static void keyPair(Path store, String alias, String dname, String ext,
      String password) {
    List<String> args = new ArrayList<>(List.of("-genkeypair", "-alias", alias, "-keyalg", "RSA",
        "-keysize", "2048", "-validity", "2", "-dname", dname, "-keystore", store.toString(),
        "-storetype", TYPE, "-storepass", password, "-keypass", password));
    if (ext != null) {
      args.add("-ext");
      args.add(ext);
    }
    keytool(args.toArray(String[]::new));
  }

  private static void keytool(String... args) {
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    List<String> command = new ArrayList<>();
    command.add(keytool.toString());
    command.addAll(List.of(args));
    Process p = null;
    try {
      p = new ProcessBuilder(command).redirectErrorStream(true).start();
      p.getOutputStream().close();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("keytool " + args[0] + " failed: "
            + new String(out, StandardCharsets.UTF_8).strip());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + keytool, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running keytool", e);
    } finally {
      if (p != null && p.isAlive()) {
        p.destroyForcibly();
      }
    }
  }
}
