package dev.vigil.transforms.run;

import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.io.FeatureRow;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple3;

/**
 * Formats each event's feature vector as its output line ({@link FeatureRow#toJson}), keyed for
 * the output order: (event time, input line, JSON). Runs at the stages' parallelism so the JSON
 * work is spread; counts events and late events in the accumulators {@link #EVENTS} and {@link
 * #LATE}, which the job result carries back to {@code vigil run}.
 */
public final class OutputLines
    extends RichMapFunction<FeatureEvent, Tuple3<Long, Long, String>> {
  private static final long serialVersionUID = 1L;

  public static final String EVENTS = "vigil.run.events";
  public static final String LATE = "vigil.run.late";

  /** The type of the lines: Flink's tuple serializer, no Kryo. */
  public static final TypeInformation<Tuple3<Long, Long, String>> TYPE =
      Types.TUPLE(Types.LONG, Types.LONG, Types.STRING);

  private final EntityEngine engine;
  private final List<String> featureNames;
  private final int idPos;
  private transient LongCounter events;
  private transient LongCounter late;

  /**
   * @param engine any of the spec's engines: they share the event-time field
   * @param schema the source schema; its {@code transaction_id} (if any) names the row
   */
  public OutputLines(EntityEngine engine, List<String> featureNames, Schema schema) {
    this.engine = engine;
    this.featureNames = List.copyOf(featureNames);
    Schema.Field id = schema.getField("transaction_id");
    this.idPos = id == null ? -1 : id.pos();
  }

  @Override
  public void open(OpenContext context) {
    events = getRuntimeContext().getLongCounter(EVENTS);
    late = getRuntimeContext().getLongCounter(LATE);
  }

  @Override
  public Tuple3<Long, Long, String> map(FeatureEvent e) {
    events.add(1);
    if (e.late) {
      late.add(1);
    }
    Object id = idPos < 0 ? null : e.event.get(idPos);
    long time = engine.eventTimeOf(e.event);
    String json =
        new FeatureRow(id == null ? null : id.toString(), time, e.values).toJson(featureNames);
    return Tuple3.of(time, e.seq, json);
  }
}
