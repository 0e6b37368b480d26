package dev.vigil.transforms.batch;

import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.flink.FeatureEvent;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.types.Row;

/**
 * Each event's base part ({@link FeatureParts}): its position, id and which entities have a key in
 * it. Counts the events read in the accumulator {@link BatchBackfill#READ}.
 */
final class BaseParts extends RichMapFunction<FeatureEvent, Row> {
  private static final long serialVersionUID = 1L;
  private final List<EntityEngine> engines;
  private final int arity;
  private final int idPos;
  private transient LongCounter read;

  BaseParts(List<EntityEngine> engines, int arity, Schema schema) {
    this.engines = List.copyOf(engines);
    this.arity = arity;
    Schema.Field id = schema.getField("transaction_id");
    this.idPos = id == null ? -1 : id.pos();
  }

  @Override
  public void open(OpenContext context) {
    read = getRuntimeContext().getLongCounter(BatchBackfill.READ);
  }

  @Override
  public Row map(FeatureEvent e) {
    read.add(1);
    Row r = FeatureParts.part(arity, engines.get(0).eventTimeOf(e.event), e.seq,
        FeatureParts.BASE);
    Object id = idPos < 0 ? null : e.event.get(idPos);
    r.setField(FeatureParts.ID, id == null ? null : id.toString());
    int keyed = 0;
    for (int i = 0; i < engines.size(); i++) {
      if (engines.get(i).keyOf(e.event) != null) {
        keyed |= 1 << i;
      }
    }
    r.setField(FeatureParts.KEYED, keyed);
    return r;
  }
}
