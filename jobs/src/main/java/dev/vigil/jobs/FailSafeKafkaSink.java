package dev.vigil.jobs;

import java.io.IOException;
import java.util.Collection;
import java.util.List;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.connector.kafka.sink.KafkaCommittable;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.sink.KafkaWriterState;
import org.apache.flink.connector.kafka.sink.TwoPhaseCommittingStatefulSink;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.streaming.api.connector.sink2.CommittableMessage;
import org.apache.flink.streaming.api.connector.sink2.SupportsPostCommitTopology;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link KafkaSink} whose writer does not throw from {@code close()}: everything else is the
 * Kafka sink's own (writer, state, committer, co-location of writer and committer).
 *
 * <p>Why: when the broker refuses a write for good (a denied ACL, a record too large, a delivery
 * timeout after a long outage), the first failed send fails the task, as it should; a second one
 * still in flight is kept by the writer and rethrown by its {@code close()} during the task's
 * clean-up. Flink 2.2 treats an exception in that clean-up as fatal for the TaskManager ("FATAL -
 * exception in exception handler of task ..."): the TaskManager process stops, with every task on
 * it, instead of the job restarting from its checkpoint (seen with flink-connector-kafka
 * 5.0.0-2.2; TransientFaultsITCase). The exception at close is logged instead: it is the same
 * failure the task already failed on, and a clean end of input has already flushed and thrown.
 */
final class FailSafeKafkaSink<T>
    implements Sink<T>, SupportsWriterState<T, KafkaWriterState>,
        SupportsCommitter<KafkaCommittable>, SupportsPostCommitTopology<KafkaCommittable> {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(FailSafeKafkaSink.class);

  private final KafkaSink<T> sink;
  /** Null but in tests ({@link ElementProbe}). */
  private final ElementProbe<T> probe;

  FailSafeKafkaSink(KafkaSink<T> sink) {
    this(sink, null);
  }

  private FailSafeKafkaSink(KafkaSink<T> sink, ElementProbe<T> probe) {
    this.sink = sink;
    this.probe = probe;
  }

  /** This sink, its writer calling {@code probe} before each write (a test seam). */
  FailSafeKafkaSink<T> probed(ElementProbe<T> probe) {
    return new FailSafeKafkaSink<>(sink, probe);
  }

  @Override
  public Writer<T> createWriter(WriterInitContext context) throws IOException {
    return new Writer<>(sink.createWriter(context), probe,
        context.getTaskInfo().getAttemptNumber());
  }

  @Override
  public Writer<T> restoreWriter(WriterInitContext context,
      Collection<KafkaWriterState> recoveredState) throws IOException {
    return new Writer<>(sink.restoreWriter(context, recoveredState), probe,
        context.getTaskInfo().getAttemptNumber());
  }

  @Override
  public SimpleVersionedSerializer<KafkaWriterState> getWriterStateSerializer() {
    return sink.getWriterStateSerializer();
  }

  @Override
  public Committer<KafkaCommittable> createCommitter(CommitterInitContext context) {
    return sink.createCommitter(context);
  }

  @Override
  public SimpleVersionedSerializer<KafkaCommittable> getCommittableSerializer() {
    return sink.getCommittableSerializer();
  }

  @Override
  public void addPostCommitTopology(DataStream<CommittableMessage<KafkaCommittable>> committed) {
    sink.addPostCommitTopology(committed);
  }

  /** The Kafka writer, closed without throwing. */
  static final class Writer<T> implements StatefulSinkWriter<T, KafkaWriterState>,
      CommittingSinkWriter<T, KafkaCommittable> {
    private final TwoPhaseCommittingStatefulSink.PrecommittingStatefulSinkWriter<T,
        KafkaWriterState, KafkaCommittable> writer;
    private final ElementProbe<T> probe;
    private final int attempt;

    Writer(TwoPhaseCommittingStatefulSink.PrecommittingStatefulSinkWriter<T, KafkaWriterState,
        KafkaCommittable> writer, ElementProbe<T> probe, int attempt) {
      this.writer = writer;
      this.probe = probe;
      this.attempt = attempt;
    }

    @Override
    public void write(T element, Context context) throws IOException, InterruptedException {
      if (probe != null) {
        try {
          probe.before(element, attempt);
        } catch (IOException | InterruptedException | RuntimeException e) {
          throw e;
        } catch (Exception e) {
          throw new IOException(e);
        }
      }
      writer.write(element, context);
    }

    @Override
    public void flush(boolean endOfInput) throws IOException, InterruptedException {
      writer.flush(endOfInput);
    }

    @Override
    public void writeWatermark(Watermark watermark) throws IOException, InterruptedException {
      writer.writeWatermark(watermark);
    }

    @Override
    public List<KafkaWriterState> snapshotState(long checkpointId) throws IOException {
      return writer.snapshotState(checkpointId);
    }

    @Override
    public Collection<KafkaCommittable> prepareCommit() throws IOException, InterruptedException {
      return writer.prepareCommit();
    }

    @Override
    public void close() {
      try {
        writer.close();
      } catch (Exception e) {
        LOG.warn("Kafka sink writer closed with a failed send (the task has failed on it"
            + " already): {}", e.toString());
      }
    }
  }
}
