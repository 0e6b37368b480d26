package dev.vigil.jobs;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
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
