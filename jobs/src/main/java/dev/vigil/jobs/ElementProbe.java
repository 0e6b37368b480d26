package dev.vigil.jobs;

import java.io.Serializable;

/**
 * A test seam: called with each element before an operator handles it, in the operator's task
 * thread, with the task's attempt number (Flink's, one more per restart). An exception thrown here
 * fails the task exactly as the operator's own would, which is what the exactly-once tests inject
 * in the score operator and a sink's writer. One copy per subtask and attempt (deserialized with
 * the operator). Never set by the job itself.
 */
@FunctionalInterface
interface ElementProbe<T> extends Serializable {
  void before(T element, int attempt) throws Exception;
}
