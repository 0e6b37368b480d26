package dev.vigil.transforms.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vigil.transforms.io.FeatureRow;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.types.Row;
import org.junit.jupiter.api.Test;

class RowAssemblerTest {
  // Two entities: entity 0 owns feature 0, entity 1 owns features 1 and 2.
  static final int[][] SLOTS = {{0}, {1, 2}};
  static final int ARITY = FeatureParts.VALUES + 3;

  static Row base(long time, long ordinal, String id, int keyed) {
    Row r = FeatureParts.part(ARITY, time, ordinal, FeatureParts.BASE);
    r.setField(FeatureParts.ID, id);
    r.setField(FeatureParts.KEYED, keyed);
    return r;
  }

  static Row entity(long time, long ordinal, int entity, Object... values) {
    Row r = FeatureParts.part(ARITY, time, ordinal, entity);
    for (int i = 0; i < values.length; i++) {
      r.setField(FeatureParts.VALUES + SLOTS[entity][i], values[i]);
    }
    return r;
  }

  static List<FeatureRow> assemble(Row... parts) {
    RowAssembler a = new RowAssembler(3, SLOTS);
    List<FeatureRow> rows = new ArrayList<>();
    for (Row p : parts) {
      rows.addAll(a.add(p));
    }
    rows.addAll(a.finish());
    return rows;
  }

  @Test
  void joinsThePartsOfEachEventAndPutsTiesInOrdinalOrder() {
    List<FeatureRow> rows = assemble(
        entity(10, 7, 1, 5L, "x"), base(10, 9, "b", 1), entity(10, 9, 0, 2L),
        base(10, 7, "a", 3), entity(10, 7, 0, 1L),
        base(20, 1, "c", 0)); // no key at all: every feature null
    assertThat(rows).containsExactly(
        new FeatureRow("a", 10, new Object[] {1L, 5L, "x"}),
        new FeatureRow("b", 10, new Object[] {2L, null, null}),
        new FeatureRow("c", 20, new Object[] {null, null, null}));
  }

  @Test
  void aMissingOrDoubledPartFailsInsteadOfWritingNulls() {
    assertThatThrownBy(() -> assemble(base(10, 7, "a", 3), entity(10, 7, 0, 1L)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("ordinal 7").hasMessageContaining("lost or doubled");
    assertThatThrownBy(() -> assemble(entity(10, 7, 0, 1L)))
        .hasMessageContaining("no base part");
    assertThatThrownBy(() -> assemble(base(10, 7, "a", 1), entity(10, 7, 0, 1L),
        entity(10, 7, 0, 1L)))
        .hasMessageContaining("two parts of entity 0");
    assertThatThrownBy(() -> assemble(base(20, 1, "a", 0), base(10, 2, "b", 0)))
        .hasMessageContaining("out of time order");
  }
}
