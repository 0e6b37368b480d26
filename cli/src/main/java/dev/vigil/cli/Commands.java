package dev.vigil.cli;

import dev.vigil.benchmarks.BenchCommand;
import dev.vigil.localenv.DemoCommand;
import dev.vigil.localenv.cluster.ClusterCommand;
import dev.vigil.schemas.contracts.cli.ContractsCommand;
import dev.vigil.statetools.StateCommand;
import dev.vigil.transforms.cli.FeaturesCommand;
import dev.vigil.transforms.run.RunCommand;
import java.util.List;

/** The commands of {@code vigil}, in the order {@code --help} lists them. */
final class Commands {
  private Commands() {}

  static List<Object> all() {
    return List.of(new ContractsCommand(), new FeaturesCommand(), new RunCommand(),
        new StateCommand(), new DemoCommand(), new ClusterCommand(),
        new BenchCommand());
  }
}
