package dev.vigil.jobs;

import dev.vigil.avro.DeadLetter;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

/**
 * Counts dead letters per reason ({@code vigil.dead_letters.<reason>}) in front of the dead-letter
 * sink: one place sees every reason, whichever operator dead-lettered the record. Passes records on.
 */
public final class DeadLetterMetrics extends RichMapFunction<DeadLetter, DeadLetter> {
  private static final long serialVersionUID = 1L;
  private transient Map<String, Counter> counters;
  private transient MetricGroup group;

  @Override
  public void open(OpenContext context) {
    group = getRuntimeContext().getMetricGroup().addGroup("vigil").addGroup("dead_letters");
    counters = new HashMap<>();
    for (String reason : DeadLetters.REASONS) {
      counters.put(reason, group.counter(reason));
    }
  }

  @Override
  public DeadLetter map(DeadLetter d) {
    counters.computeIfAbsent(d.getReason(), group::counter).inc();
    return d;
  }
}
