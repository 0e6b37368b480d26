package dev.vigil.transforms.batch;

import java.io.IOException;
import org.apache.flink.util.SerializedThrowable;

/**
 * A bad event file met on a task: the message names file, line (or record) and field, as {@code
 * EventFiles.BadInputException} does in the single-JVM path. {@link #find} digs it out of a failed
 * job's cause chain, where Flink may carry it as a {@link SerializedThrowable}.
 */
final class BadInputError extends IOException {
  private static final long serialVersionUID = 1L;

  BadInputError(String message) {
    super(message);
  }

  /** The message of the first bad-input error in {@code t}'s cause chain, or null. */
  static String find(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof BadInputError) {
        return c.getMessage();
      }
      if (c instanceof SerializedThrowable s
          && BadInputError.class.getName().equals(s.getOriginalErrorClassName())) {
        // SerializedThrowable's message is "<class name>: <message>".
        String m = s.getMessage();
        String prefix = BadInputError.class.getName() + ": ";
        return m != null && m.startsWith(prefix) ? m.substring(prefix.length()) : m;
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return null;
  }
}
