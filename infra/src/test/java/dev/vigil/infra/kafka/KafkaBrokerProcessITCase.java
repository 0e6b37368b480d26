package dev.vigil.infra.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vigil.infra.Ports;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;

/** The broker in its own JVM: it serves, a taken port fails fast naming it, close stops it. */
class KafkaBrokerProcessITCase {
  @Test
  void aBrokerInItsOwnJvmServesAndStopsOnClose() throws Exception {
    KafkaBrokerProcess broker = KafkaBrokerProcess.start(Ports.free(), "256m");
    try (Admin admin = Admin.create(Map.of(
        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
      admin.createTopics(List.of(new NewTopic("t", 2, (short) 1))).all().get();
      // the metadata reaches the broker's cache a moment after the controller created the topic
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (!admin.listTopics().names().get().contains("t") && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
      assertThat(admin.listTopics().names().get()).contains("t");
    } finally {
      broker.close();
    }
    assertThat(broker.isAlive()).isFalse();
    // the port is free again: a second run works without manual cleanup
    Ports.ensureFree(broker.port(), "a test", "-");
  }

  @Test
  void aTakenPortFailsFastNamingIt() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      long started = System.nanoTime();
      assertThatThrownBy(() -> KafkaBrokerProcess.start(taken.getLocalPort(), "256m"))
          .hasMessageContaining("port " + taken.getLocalPort())
          .hasMessageContaining("--kafka-port");
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(30)); // not the 90 s start timeout
    }
  }
}
