package dev.vigil.jobs;

import java.util.ArrayList;
import java.util.List;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;

/**
 * Every log line of Flink, Kafka and Vigil at INFO and above, while open (the console still shows
 * WARN and above only): what a test asserts holds no secret. Includes Kafka's configuration dumps
 * ({@code ProducerConfig values: …}) and stack traces.
 */
final class CapturedLogs extends AbstractAppender implements AutoCloseable {
  private static final String[] LOGGERS = {"org.apache.kafka", "org.apache.flink", "dev.vigil"};
  private final List<String> lines = new ArrayList<>();
  private final LoggerContext context;
  private final List<LoggerConfig> added = new ArrayList<>();

  private CapturedLogs() {
    super("captured", null, null, true, Property.EMPTY_ARRAY);
    context = (LoggerContext) LogManager.getContext(false);
  }

  static CapturedLogs capture() {
    CapturedLogs logs = new CapturedLogs();
    logs.start0();
    return logs;
  }

  private void start0() {
    start();
    Configuration config = context.getConfiguration();
    var console = config.getRootLogger().getAppenders().values();
    for (String name : LOGGERS) {
      LoggerConfig logger = new LoggerConfig(name, Level.INFO, false);
      logger.addAppender(this, Level.INFO, null);
      console.forEach(a -> logger.addAppender(a, Level.WARN, null));
      config.addLogger(name, logger);
      added.add(logger);
    }
    context.updateLoggers();
  }

  @Override
  public void append(LogEvent event) {
    StringBuilder s = new StringBuilder(event.getMessage().getFormattedMessage());
    for (Throwable t = event.getThrown(); t != null; t = t.getCause()) {
      s.append("\n  caused by ").append(t);
    }
    synchronized (lines) {
      lines.add(s.toString());
    }
  }

  /** The lines so far, joined. */
  String text() {
    synchronized (lines) {
      return String.join("\n", lines);
    }
  }

  int size() {
    synchronized (lines) {
      return lines.size();
    }
  }

  @Override
  public void close() {
    Configuration config = context.getConfiguration();
    added.forEach(l -> config.removeLogger(l.getName()));
    context.updateLoggers();
    stop();
  }
}
