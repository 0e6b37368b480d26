package dev.vigil.schemas.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * A registry address that redirects elsewhere: without credentials the client follows it; with
 * them it does not (the Authorization header would go on to the other host) and says what to set.
 * Two JDK HTTP servers on loopback stand in for the registry and the place it points at.
 */
class RegistryRedirectTest {
  @Test
  void aRedirectIsFollowedWithoutCredentialsAndRefusedWithThemNamingTheLocation() throws Exception {
    List<String> authorizations = new CopyOnWriteArrayList<>();
    HttpServer target = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    target.createContext("/", exchange -> {
      authorizations.add(String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")));
      byte[] body = "[\"s-value\"]".getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    HttpServer redirecting = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    String location = "http://127.0.0.1:" + target.getAddress().getPort() + "/subjects";
    redirecting.createContext("/", exchange -> {
      exchange.getResponseHeaders().add("Location", location);
      exchange.sendResponseHeaders(307, -1);
      exchange.close();
    });
    target.start();
    redirecting.start();
    try {
      String url = "http://127.0.0.1:" + redirecting.getAddress().getPort();
      assertThat(SchemaRegistryClient.of(url).subjects()).containsExactly("s-value");
      assertThat(authorizations).containsExactly("null");

      SchemaRegistryClient withPassword = new SchemaRegistryClient(RegistryConfig.of(url)
          .withCredentials(RegistryConfig.Credentials.basic("vigil", "hunter2")));
      assertThatThrownBy(withPassword::subjects)
          .isInstanceOf(RegistryException.class)
          .hasMessageContaining("with HTTP 307, a redirect to " + location)
          .hasMessageContaining("set registry.url to the registry's own address")
          .hasMessageNotContaining("hunter2");
      assertThat(authorizations).as("the credentials never left for the other address")
          .containsExactly("null");
    } finally {
      redirecting.stop(0);
      target.stop(0);
    }
  }
}
