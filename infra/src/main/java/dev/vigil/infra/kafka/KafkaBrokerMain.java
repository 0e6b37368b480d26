package dev.vigil.infra.kafka;

import java.io.IOException;

/**
 * A broker in its own JVM ({@link KafkaBrokerProcess} starts it): {@code KafkaBrokerMain PORT}
 * starts a single-node KRaft broker on 127.0.0.1:PORT, prints {@value #READY} and the bootstrap
 * address on one line, and runs until its standard input closes (the parent went away) or it is
 * terminated; either way it shuts down and deletes its log directory.
 */
public final class KafkaBrokerMain {
  /** The line prefix that says the broker is ready. */
  public static final String READY = "VIGIL-KAFKA-READY ";

  private KafkaBrokerMain() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 1) {
      System.err.println("usage: KafkaBrokerMain PORT");
      System.exit(2);
    }
    KafkaBroker broker;
    try {
      broker = KafkaBroker.start(Integer.parseInt(args[0]));
    } catch (RuntimeException e) {
      System.err.println("kafka: " + e.getMessage());
      System.exit(1);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(broker::close, "kafka-stop"));
    System.out.println(READY + broker.bootstrapServers());
    System.out.flush();
    // Block until the parent closes our stdin (it exited, or it is stopping us).
    while (System.in.read() >= 0) {
      // ignore input
    }
    System.exit(0); // runs the shutdown hook
  }
}
