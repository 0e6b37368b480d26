package dev.vigil.statetools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vigil.avro.Transaction;
import dev.vigil.transforms.io.EventJson;
import dev.vigil.transforms.offline.PointInTimeEvaluator;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.testing.RandomStreams;
import dev.vigil.transforms.testing.TestSpecs;
import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The history pass (the file read on a second thread, in batches): the states equal the offline
 * evaluator's over the file in order, and a bad line far into the file is reported by its line.
 */
class HistoryStatesTest {
  static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
  @TempDir Path dir;

  @Test
  void statesFromJsonLinesEqualTheOfflineEvaluatorInFileOrder() throws Exception {
    CompiledSpec spec = TestSpecs.spec(TestSpecs.ALL_FEATURES);
    List<Transaction> events = RandomStreams.generate(21, 20_000, 40, 9); // ~10 batches of 2,048
    EventJson json = new EventJson(spec.schema());
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < events.size(); i++) {
      lines.add(json.format(events.get(i)));
      if (i % 997 == 0) {
        lines.add(""); // blank lines are skipped
      }
    }
    Path history = dir.resolve("history.jsonl");
    Files.write(history, lines);

    long cutover = events.get(events.size() - 1).getEventTime().toEpochMilli() + 1;
    HistoryStates.Result r = HistoryStates.compute(spec, spec.engines(), history, cutover, 0,
        QUIET);

    PointInTimeEvaluator offline = new PointInTimeEvaluator(spec);
    events.forEach(offline::process);
    assertThat(r.events()).isEqualTo(events.size());
    long kept = 0;
    long all = 0;
    for (HistoryStates.EntityStates e : r.entities()) {
      Map<String, byte[]> expected = offline.states(e.engine().entity());
      e.states().forEach((k, v) -> assertThat(v).as(k).isEqualTo(expected.get(k)));
      kept += e.states().size();
      all += expected.size();
    }
    // card has lifetime features (no TTL): every key kept; merchant keys idle past the TTL go
    assertThat(r.of("card").states().keySet()).isEqualTo(offline.states("card").keySet());
    assertThat(kept + r.expiredKeys()).isEqualTo(all);
  }

  @Test
  void aPerKeyCutCountsOnlyTheEventsItAdmitsAndDropsNoKeyForItsTtl() throws Exception {
    // add-feature on a job's savepoint: each key's history stops where the job left it, and an
    // event still waiting in the stage (by id) does not count.
    CompiledSpec spec = TestSpecs.spec(TestSpecs.ALL_FEATURES);
    List<Transaction> events = RandomStreams.generate(5, 6_000, 30, 9);
    EventJson json = new EventJson(spec.schema());
    List<String> lines = new ArrayList<>();
    events.forEach(t -> lines.add(json.format(t)));
    Path history = Files.write(dir.resolve("superset.jsonl"), lines);
    long middle = events.get(events.size() / 2).getEventTime().toEpochMilli();
    java.util.Set<String> waiting = new java.util.HashSet<>();
    for (int i = 0; i < events.size(); i += 50) {
      waiting.add(events.get(i).getTransactionId().toString());
    }
    // the cut: a card whose id sorts low stops at the middle, the others run to the end
    HistoryStates.KeyCut cut = (entity, key, t, e) -> !waiting.contains(
        e.get(spec.schema().getField("transaction_id").pos()).toString())
        && (key.compareTo("c15") >= 0 || t <= middle);
    HistoryStates.Result r = HistoryStates.compute(spec, spec.engines(), history, cut, QUIET);

    PointInTimeEvaluator card = new PointInTimeEvaluator(spec);
    for (Transaction t : events) {
      String key = t.getCardId().toString();
      if (!waiting.contains(t.getTransactionId().toString())
          && (key.compareTo("c15") >= 0 || t.getEventTime().toEpochMilli() <= middle)) {
        card.process(t);
      }
    }
    Map<String, byte[]> expected = card.states("card");
    assertThat(r.of("card").states().keySet()).isEqualTo(expected.keySet());
    r.of("card").states().forEach((k, v) -> assertThat(v).as(k).isEqualTo(expected.get(k)));
    assertThat(r.expiredKeys()).as("no key dropped for its TTL with a cut").isZero();
  }

  @Test
  void anUnorderedHistoryIsSortedInRunsOnDiskAndGivesTheStatesOfTheOrderedOne() throws Exception {
    CompiledSpec spec = TestSpecs.spec(TestSpecs.ALL_FEATURES);
    EventJson json = new EventJson(spec.schema());
    List<Transaction> shuffled = RandomStreams.outOfOrder(41, 20_000, 60, 9, 300);
    List<String> lines = new ArrayList<>();
    shuffled.forEach(t -> lines.add(json.format(t)));
    Path history = Files.write(dir.resolve("unordered.jsonl"), lines);
    long[] times = shuffled.stream().mapToLong(t -> t.getEventTime().toEpochMilli()).sorted()
        .toArray();
    long cutover = times[times.length * 3 / 4];

    java.io.ByteArrayOutputStream progress = new java.io.ByteArrayOutputStream();
    HistoryStates.Result r = HistoryStates.compute(spec, spec.engines(), history, cutover,
        0, new PrintStream(progress, true, "UTF-8"), 1_000);

    // Reference: the events before the cut-over, stably sorted, through the offline evaluator.
    List<Transaction> before = new ArrayList<>(shuffled.stream()
        .filter(t -> t.getEventTime().toEpochMilli() < cutover).toList());
    before.sort(java.util.Comparator.comparingLong(t -> t.getEventTime().toEpochMilli()));
    PointInTimeEvaluator offline = new PointInTimeEvaluator(spec);
    before.forEach(offline::process);
    assertThat(r.sorted()).isTrue();
    assertThat(r.events()).isEqualTo(before.size());
    assertThat(r.afterCutover()).isEqualTo(shuffled.size() - before.size()).isPositive();
    assertThat(progress.toString()).contains("sorted in 15 run(s) of up to 1,000");
    for (HistoryStates.EntityStates e : r.entities()) {
      Map<String, byte[]> expected = offline.states(e.engine().entity());
      e.states().forEach((k, v) -> assertThat(v).as(k).isEqualTo(expected.get(k)));
    }
    assertThat(r.of("card").states().keySet()).isNotEmpty()
        .isEqualTo(offline.states("card").keySet());
    try (var left = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
      assertThat(left.filter(p -> p.getFileName().toString().startsWith("vigil-sort"))
          .filter(p -> Files.exists(p.resolve("run-0.avro")))).as("runs deleted").isEmpty();
    }
  }

  @Test
  void aBadLineInALaterBatchIsReportedWithItsFileAndLine() throws Exception {
    CompiledSpec spec = TestSpecs.spec(TestSpecs.ALL_FEATURES);
    List<Transaction> events = RandomStreams.generate(5, 9_000, 10, 3);
    EventJson json = new EventJson(spec.schema());
    List<String> lines = new ArrayList<>();
    events.forEach(t -> lines.add(json.format(t)));
    lines.set(7_000, "{\"transaction_id\": ");
    Path history = dir.resolve("bad.jsonl");
    Files.write(history, lines);

    assertThatThrownBy(() -> HistoryStates.compute(spec, spec.engines(), history,
        Long.MAX_VALUE, 0, QUIET))
        .isInstanceOf(StateToolException.class)
        .hasMessageContaining(history + ":7001: not valid JSON");
  }
}
