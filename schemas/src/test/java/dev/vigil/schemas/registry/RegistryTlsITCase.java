package dev.vigil.schemas.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import dev.vigil.infra.tls.TestCertificates;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registry client over HTTPS, against the JDK's HttpsServer on 127.0.0.1 with certificates
 * made by the test and a minimal Confluent API: the configured truststore is what is trusted, a
 * client certificate is sent for mutual TLS, and a certificate nobody vouched for fails at once
 * with a message that says which key to check.
 */
class RegistryTlsITCase {
  @TempDir static Path dir;
  static TestCertificates certs;
  static TestCertificates other;

  HttpsServer server;
  final AtomicInteger requests = new AtomicInteger();
  final List<String> authorizations = new ArrayList<>();

  @BeforeAll
  static void certificates() throws IOException {
    certs = TestCertificates.generate(Files.createDirectories(dir.resolve("ours")));
    other = TestCertificates.generate(Files.createDirectories(dir.resolve("other")));
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
  }

  /** A registry answering GET /subjects and GET /schemas/ids/1 over HTTPS; its base URL. */
  String start(boolean clientCertificateRequired) throws Exception {
    SSLContext context = SSLContext.getInstance("TLS");
    KeyManagerFactory kmf =
        KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(KeyStore.getInstance(certs.serverKeystore().toFile(), certs.password().toCharArray()),
        certs.password().toCharArray());
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(KeyStore.getInstance(certs.truststore().toFile(), certs.password().toCharArray()));
    context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(context) {
      @Override
      public void configure(HttpsParameters params) {
        SSLParameters p = context.getDefaultSSLParameters();
        p.setNeedClientAuth(clientCertificateRequired);
        params.setSSLParameters(p);
      }
    });
    server.createContext("/subjects", e -> answer(e, "[\"payments-value\"]"));
    server.createContext("/schemas/ids/1", e -> answer(e, "{\"schema\":\"\\\"string\\\"\"}"));
    server.start();
    return "https://127.0.0.1:" + server.getAddress().getPort();
  }

  void answer(HttpExchange e, String body) throws IOException {
    requests.incrementAndGet();
    synchronized (authorizations) {
      authorizations.add(e.getRequestHeaders().getFirst("Authorization"));
    }
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    e.getResponseHeaders().add("Content-Type", "application/vnd.schemaregistry.v1+json");
    e.sendResponseHeaders(200, bytes.length);
    e.getResponseBody().write(bytes);
    e.close();
  }

  static Secret passwordFile(String name, String password) throws IOException {
    Path file = Files.writeString(dir.resolve(name), password + "\n");
    return Secret.reference("${file:" + file + "}");
  }

  @Test
  void theConfiguredTruststoreIsTrustedAndTheBasicAuthPasswordIsReadFromItsFile()
      throws Exception {
    String url = start(false);
    RegistryConfig config = RegistryConfig.of(url)
        .withCredentials(RegistryConfig.Credentials.basic("svc", passwordFile("pw", "s3cr3t")))
        .withTls(new RegistryConfig.Tls(certs.truststore().toString(),
            passwordFile("trust-pw", certs.password()), null, null));
    assertThat(config.toString()).doesNotContain(certs.password()).doesNotContain("s3cr3t");
    SchemaRegistryClient client = new SchemaRegistryClient(config);
    assertThat(client.subjects()).containsExactly("payments-value");
    assertThat(client.schemaById(1).getType()).isEqualTo(org.apache.avro.Schema.Type.STRING);
    assertThat(authorizations).containsOnly("Basic "
        + Base64.getEncoder().encodeToString("svc:s3cr3t".getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void anUntrustedCertificateFailsAtOnceSayingWhichKeyToCheck() throws Exception {
    String url = start(false);
    for (RegistryConfig config : List.of(
        // the JDK's default trust store: a test certificate is in none
        RegistryConfig.of(url),
        // a truststore of other certificates
        RegistryConfig.of(url).withTls(new RegistryConfig.Tls(other.truststore().toString(),
            Secret.literal(other.password()), null, null)))) {
      long t0 = System.nanoTime();
      assertThatThrownBy(() -> new SchemaRegistryClient(config.withRetries(5,
              java.time.Duration.ofSeconds(1), java.time.Duration.ofSeconds(5))).subjects())
          .isInstanceOf(RegistryException.class)
          .hasMessageContaining("TLS with schema registry at " + url + " failed")
          .hasMessageContaining("PKIX path")
          .hasMessageContaining("check registry.ssl.truststore.location");
      assertThat((System.nanoTime() - t0) / 1e9).as("not retried: 5 attempts would wait 15 s")
          .isLessThan(5);
    }
    assertThat(requests).hasValue(0);
  }

  @Test
  void mutualTlsSendsTheClientCertificateAndFailsClearlyWithoutIt() throws Exception {
    String url = start(true);
    RegistryConfig.Tls trustOnly = new RegistryConfig.Tls(certs.truststore().toString(),
        Secret.literal(certs.password()), null, null);
    RegistryConfig.Tls withCertificate = new RegistryConfig.Tls(certs.truststore().toString(),
        Secret.literal(certs.password()), certs.clientKeystore().toString(),
        passwordFile("key-pw", certs.password()));
    assertThat(new SchemaRegistryClient(RegistryConfig.of(url).withTls(withCertificate))
        .subjects()).containsExactly("payments-value");
    assertThatThrownBy(() ->
        new SchemaRegistryClient(RegistryConfig.of(url).withTls(trustOnly)).subjects())
        .isInstanceOf(RegistryException.class)
        .hasMessageContaining("schema registry at " + url)
        .hasMessageContaining("requires a client certificate")
        .hasMessageContaining("registry.ssl.keystore.location");
  }

  @Test
  void aWrongStorePasswordIsNamedWithoutShowingIt() throws Exception {
    String url = start(false);
    RegistryConfig config = RegistryConfig.of(url).withTls(new RegistryConfig.Tls(
        certs.truststore().toString(), passwordFile("bad-pw", "wrong-one"), null, null));
    assertThatThrownBy(() -> new SchemaRegistryClient(config))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot read the registry truststore " + certs.truststore())
        .hasMessageContaining("password was incorrect")
        .hasMessageNotContaining("wrong-one");
    new File(dir.resolve("bad-pw").toString()).delete();
    assertThatThrownBy(() -> new SchemaRegistryClient(config))
        .hasMessageContaining("cannot read ${file:" + dir.resolve("bad-pw") + "}: no such file");
  }
}
