package dev.vigil.jobs;

import dev.vigil.schemas.registry.Secret;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.common.config.ConfigData;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.provider.ConfigProvider;

/**
 * Resolves {@code ${env:NAME}} and {@code ${file:PATH}} in Kafka client properties when the
 * Kafka client is created (on the TaskManager for readers and writers, on the JobManager for the
 * source's enumerator), so the job graph and the Flink UI hold references, never secrets. A
 * Kafka {@link ConfigProvider} registered under the aliases {@code env} and {@code file}: Kafka
 * replaces every {@code ${alias:key}} in every value (also inside a JAAS config) before the
 * client reads its configuration, and never logs the resolved value of a password-type property.
 *
 * <p>If a deployment restricts config providers with the system property {@code
 * org.apache.kafka.automatic.config.providers}, it must list this class.
 */
public final class SecretConfigProvider implements ConfigProvider {
  private static final String KIND = "kind";
  private String kind = "env";

  /** Adds the provider's registration to client properties {@code p}. */
  static void register(Properties p) {
    p.setProperty("config.providers", "env,file");
    p.setProperty("config.providers.env.class", SecretConfigProvider.class.getName());
    p.setProperty("config.providers.env.param." + KIND, "env");
    p.setProperty("config.providers.file.class", SecretConfigProvider.class.getName());
    p.setProperty("config.providers.file.param." + KIND, "file");
  }

  @Override
  public void configure(Map<String, ?> configs) {
    Object k = configs.get(KIND);
    if (k != null) {
      kind = k.toString();
    }
  }

  @Override
  public ConfigData get(String path) {
    return new ConfigData(Map.of());
  }

  @Override
  public ConfigData get(String path, Set<String> keys) {
    Map<String, String> data = new HashMap<>();
    for (String key : keys) {
      // ${file:/a/b} reaches here as path "" (or null) and key "/a/b"; a path with a colon
      // (${file:/a:b}) as path "/a" and key "b"
      String name = path == null || path.isEmpty() ? key : path + ":" + key;
      try {
        data.put(key, kind.equals("file") ? Secret.file(name) : Secret.env(name, System::getenv));
      } catch (IllegalArgumentException e) {
        throw new ConfigException("Kafka client property: " + e.getMessage());
      }
    }
    return new ConfigData(data);
  }

  @Override
  public void close() {}
}
