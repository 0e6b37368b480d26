package dev.vigil.transforms.batch;

import dev.vigil.transforms.offline.ParquetRowSink;
import dev.vigil.transforms.spec.CompiledSpec;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.typeutils.RowTypeInfo;
import org.apache.flink.types.Row;

/**
 * The parts of an output row on their way to the join: per event one <em>base</em> part (its id,
 * and which entities have a key in it) and one part per entity with a key (that entity's feature
 * values, in their spec slots). All parts of an event share its event time, by which they are
 * range-partitioned and sorted, and its ordinal, by which they are merged and ties ordered ({@link
 * RowAssembler}). A {@link Row} of Flink's own serializers:
 *
 * <pre>
 * 0 time: long   1 ordinal: long   2 source: int (BASE or the entity's index)
 * 3 id: string (base only)   4 keyed: int, bit e set when entity e has a key (base only)
 * 5.. one field per spec feature, typed as its Parquet column (entity parts fill their own)
 * </pre>
 */
final class FeatureParts {
  private FeatureParts() {}

  static final int TIME = 0;
  static final int ORDINAL = 1;
  static final int SOURCE = 2;
  static final int ID = 3;
  static final int KEYED = 4;
  static final int VALUES = 5;
  /** {@link #SOURCE} of a base part. */
  static final int BASE = -1;
  /** Entities a spec may have here (bits of {@link #KEYED}). */
  static final int MAX_ENTITIES = 31;

  /** The row type of {@code spec}'s parts; feature fields typed as {@link ParquetRowSink}'s columns. */
  static RowTypeInfo typeOf(CompiledSpec spec) {
    List<TypeInformation<?>> types = new ArrayList<>(List.of(
        Types.LONG, Types.LONG, Types.INT, Types.STRING, Types.INT));
    List<String> names = new ArrayList<>(List.of("time", "ordinal", "source", "id", "keyed"));
    Schema rows = ParquetRowSink.schemaOf(spec);
    for (Schema.Field f : rows.getFields().subList(2, rows.getFields().size())) {
      types.add(typeOf(f));
      names.add("f_" + f.name());
    }
    return new RowTypeInfo(types.toArray(new TypeInformation<?>[0]), names.toArray(new String[0]));
  }

  private static TypeInformation<?> typeOf(Schema.Field column) {
    Schema s = column.schema();
    if (s.getType() == Schema.Type.UNION) {
      s = s.getTypes().stream().filter(t -> t.getType() != Schema.Type.NULL).findFirst()
          .orElseThrow();
    }
    return switch (s.getType()) {
      case LONG -> Types.LONG;
      case DOUBLE -> Types.DOUBLE;
      case BOOLEAN -> Types.BOOLEAN;
      case STRING -> Types.STRING;
      default -> throw new IllegalStateException("feature column " + column.name() + " has type "
          + s.getType() + ", which the batch backfill does not carry");
    };
  }

  /** A new part of {@code arity} fields at ({@code time}, {@code ordinal}) from {@code source}. */
  static Row part(int arity, long time, long ordinal, int source) {
    Row r = new Row(arity);
    r.setField(TIME, time);
    r.setField(ORDINAL, ordinal);
    r.setField(SOURCE, source);
    return r;
  }
}
