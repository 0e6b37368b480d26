package dev.vigil.transforms.batch;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.types.Row;

/**
 * A part's event time: the key of the output's range partitioning and sort. An atomic key on
 * purpose: Flink's sortPartition compares a composite (tuple) key by its first field only, so
 * (time, ordinal) would not sort by ordinal; ties in time are put in ordinal order by {@link
 * RowAssembler} instead.
 */
final class PartTime implements KeySelector<Row, Long>, ResultTypeQueryable<Long> {
  private static final long serialVersionUID = 1L;

  @Override
  public Long getKey(Row part) {
    return part.getFieldAs(FeatureParts.TIME);
  }

  @Override
  public TypeInformation<Long> getProducedType() {
    return Types.LONG;
  }
}
