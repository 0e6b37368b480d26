package dev.vigil.jobs;

import java.time.Duration;
import java.util.ArrayList;
import dev.vigil.transforms.spec.Durations;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Before the job is submitted: connects to Kafka as the source and as the sinks will (their
 * properties, secrets resolved now, in this JVM, by the Kafka client) and describes their topics.
 * A wrong password, an untrusted certificate, a denied topic or a missing topic then fails at
 * start with one clear message instead of a job that restarts on every attempt. Kafka's messages
 * name the mechanism and the failure, never a credential.
 *
 * <p>With exactly-once sinks, it also reads the brokers' {@code transaction.max.timeout.ms}
 * (DescribeConfigs, the lowest over the brokers) and refuses a {@code transaction.timeout} above
 * it: every transactional producer would be refused at its first transaction
 * (INVALID_TRANSACTION_TIMEOUT), on every restart. The key {@code broker.transaction.max.timeout}
 * is what the configuration is checked against before anything connects; the brokers' own value
 * is the truth, and a difference is logged. A principal not allowed to describe the broker
 * configs gets a WARN and the key's value stands.
 *
 * <p>A Kafka that does not answer in time is not a configuration problem: it may be a transient
 * outage (a JobManager failover re-runs {@code main}), which the job rides out by its restart
 * strategy. That is logged (WARN) and the job starts.
 */
public final class KafkaPreflight {
  private static final Logger LOG = LoggerFactory.getLogger(KafkaPreflight.class);

  private KafkaPreflight() {}

  /** Checks the source's and the sinks' connections and topics within {@code timeout} each. */
  public static void check(ScoringConfig config, Duration timeout) throws ConfigException {
    List<String> problems = new ArrayList<>();
    check(config, ScoringConfig.KafkaClient.SOURCE, List.of(config.inputTopic()), timeout,
        problems);
    check(config, ScoringConfig.KafkaClient.SINK,
        List.of(config.scoresTopic(), config.featuresTopic(), config.deadLettersTopic()), timeout,
        problems);
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
  }

  private static void check(ScoringConfig config, ScoringConfig.KafkaClient client,
      List<String> topics, Duration timeout, List<String> problems) {
    Properties p = config.kafkaProperties(client);
    p.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    long millis = timeout.toMillis();
    p.setProperty(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(millis));
    p.setProperty(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(millis));
    String who = client == ScoringConfig.KafkaClient.SOURCE
        ? "the source (kafka.*, source.kafka.*)" : "the sinks (kafka.*, sink.kafka.*)";
    String where = "Kafka at " + config.bootstrapServers() + " as " + who;
    try (Admin admin = Admin.create(p)) {
      admin.describeTopics(topics).allTopicNames().get(millis + 1_000, TimeUnit.MILLISECONDS);
      if (client == ScoringConfig.KafkaClient.SINK && config.exactlyOnce()) {
        checkTransactionTimeout(admin, config, where, millis, problems);
      }
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof AuthenticationException || cause instanceof AuthorizationException
          || cause instanceof UnknownTopicOrPartitionException
          || cause instanceof InvalidTopicException) {
        problems.add("cannot use " + where + " with topics " + topics + ": " + describe(cause));
      } else {
        LOG.warn("Kafka check: {} failed ({}); starting anyway, the job retries", where,
            describe(cause));
      }
    } catch (TimeoutException e) {
      LOG.warn("Kafka check: {} did not answer within {} ms; starting anyway, the job retries",
          where, millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      problems.add("interrupted while connecting to " + where);
    } catch (RuntimeException e) {
      // e.g. a ${file:} the Kafka client could not read: its message names the file
      problems.add("cannot create a Kafka client for " + who + ": " + describe(e));
    }
  }

  static final String TX_MAX = "transaction.max.timeout.ms";

  /** {@code transaction.timeout} against the brokers' {@value #TX_MAX}. */
  private static void checkTransactionTimeout(Admin admin, ScoringConfig config, String where,
      long millis, List<String> problems) throws InterruptedException, TimeoutException {
    List<ConfigResource> brokers = new ArrayList<>();
    try {
      for (Node n : admin.describeCluster().nodes().get(millis + 1_000, TimeUnit.MILLISECONDS)) {
        brokers.add(new ConfigResource(ConfigResource.Type.BROKER, n.idString()));
      }
      long lowest = Long.MAX_VALUE;
      String lowestBroker = null;
      Map<ConfigResource, Config> configs =
          admin.describeConfigs(brokers).all().get(millis + 1_000, TimeUnit.MILLISECONDS);
      for (Map.Entry<ConfigResource, Config> e : configs.entrySet()) {
        ConfigEntry entry = e.getValue().get(TX_MAX);
        if (entry != null && entry.value() != null && Long.parseLong(entry.value()) < lowest) {
          lowest = Long.parseLong(entry.value());
          lowestBroker = e.getKey().name();
        }
      }
      if (lowestBroker == null) {
        LOG.warn("Kafka check: {} did not report {}; checked against"
            + " broker.transaction.max.timeout ({}) only", where, TX_MAX,
            Durations.format(config.brokerTransactionMaxTimeout().toMillis()));
        return;
      }
      long timeout = config.transactionTimeout().toMillis();
      if (timeout > lowest) {
        problems.add("transaction.timeout (" + Durations.format(timeout) + ") exceeds "
            + TX_MAX + " of broker " + lowestBroker + " (" + Durations.format(lowest) + ", read"
            + " from " + where + "): every exactly-once producer would be refused"
            + " (INVALID_TRANSACTION_TIMEOUT). Lower transaction.timeout to at most "
            + Durations.format(lowest) + " (and checkpoint.timeout, checkpoint.interval and"
            + " recovery.budget under it), or raise the brokers' " + TX_MAX);
      } else if (lowest != config.brokerTransactionMaxTimeout().toMillis()) {
        LOG.info("Kafka check: the brokers' {} is {} (broker {}); the key"
            + " broker.transaction.max.timeout says {}: transaction.timeout {} fits the brokers'",
            TX_MAX, Durations.format(lowest), lowestBroker,
            Durations.format(config.brokerTransactionMaxTimeout().toMillis()),
            Durations.format(timeout));
      }
    } catch (ExecutionException e) {
      LOG.warn("Kafka check: could not read the brokers' {} from {} ({}); checked against"
          + " broker.transaction.max.timeout ({}) only", TX_MAX, where, describe(e.getCause()),
          Durations.format(config.brokerTransactionMaxTimeout().toMillis()));
    }
  }

  private static String describe(Throwable e) {
    StringBuilder s = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (!s.isEmpty()) {
        s.append("; caused by ");
      }
      s.append(t.getClass().getSimpleName());
      if (t.getMessage() != null) {
        s.append(": ").append(t.getMessage());
      }
    }
    return s.toString();
  }
}
