package dev.vigil.cli;

import picocli.CommandLine.IVersionProvider;

/** The version from the jar manifest (set by the build), with the pinned Flink and Avro lines. */
final class VersionProvider implements IVersionProvider {
  @Override
  public String[] getVersion() {
    String version = Vigil.class.getPackage().getImplementationVersion();
    return new String[] {
      "vigil " + (version == null ? "(development build)" : version),
      "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")"
    };
  }
}
