package dev.vigil.schemas.contracts.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vigil.schemas.contracts.CompatibilityLevel;
import dev.vigil.schemas.contracts.ConsumerManifest;
import dev.vigil.schemas.contracts.ContractChecker;
import dev.vigil.schemas.contracts.ContractChecker.Previous;
import dev.vigil.schemas.contracts.ContractReport;
import dev.vigil.schemas.contracts.Violation;
import dev.vigil.schemas.registry.RegistryConfig;
import dev.vigil.schemas.registry.RegistryException;
import dev.vigil.schemas.registry.SchemaRegistryClient;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.avro.Schema;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code contracts check}: is a new schema compatible with the subject's previous versions, and
 * with what consumers read? Exit 0 compatible, 1 incompatible, 2 bad input or I/O.
 */
@Command(
    name = "check",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Checks a new Avro schema against the previous versions of its subject, at a Confluent"
          + " compatibility level, and against a consumer manifest.",
      "Offline: --schema NEW.avsc --previous V1.avsc --previous V2.avsc (oldest first).",
      "Online:  --schema NEW.avsc --registry URL --subject S (the subject's own level unless"
          + " --compatibility is given).",
      ""
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:compatible",
      "1:incompatible (each problem is reported with rule, field, types and a fix)",
      "2:bad input or I/O: malformed schema, missing file, bad manifest, unreachable registry"
    })
public final class CheckCommand implements Callable<Integer> {
  public static final int COMPATIBLE = 0;
  public static final int INCOMPATIBLE = 1;
  public static final int BAD_INPUT = 2;

  /** Output formats. */
  public enum Format {
    text,
    json,
    github
  }

  @Spec CommandSpec spec;

  @Option(names = "--schema", required = true, paramLabel = "NEW.avsc",
      description = "The new schema to check.")
  Path schema;

  @Option(names = "--previous", paramLabel = "FILE.avsc",
      description = "A previous version, repeatable, oldest first (offline mode).")
  List<Path> previous = new ArrayList<>();

  @Option(names = "--registry", paramLabel = "URL",
      description = "Schema registry API root, e.g. http://localhost:8081 or"
          + " http://localhost:8080/apis/ccompat/v7 (online mode).")
  String registry;

  @Option(names = "--subject", paramLabel = "S",
      description = "The subject (online mode; offline, picks the manifest's subject).")
  String subject;

  @Option(names = "--compatibility", paramLabel = "LEVEL",
      description = "NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL,"
          + " FULL_TRANSITIVE. Offline default BACKWARD; online default the subject's level.")
  String compatibility;

  @Option(names = "--consumers", paramLabel = "manifest.json",
      description = "Consumer manifest: fields consumers read (docs/consumer-manifest.md).")
  Path consumers;

  @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "text",
      description = "text, json or github (workflow annotations). Default: ${DEFAULT-VALUE}.")
  Format format;

  @Option(names = "--registry-user", paramLabel = "USER",
      description = "Basic-auth user; the password comes from $VIGIL_REGISTRY_PASSWORD.")
  String registryUser;

  /** Only the environment: a password on the command line shows in the process list. */
  String registryPassword = System.getenv("VIGIL_REGISTRY_PASSWORD");

  /** Removed; kept hidden only to say so instead of "unknown option". */
  @Option(names = "--registry-password", paramLabel = "PASSWORD", hidden = true)
  String removedPasswordOption;

  @Option(names = "--registry-token", paramLabel = "TOKEN",
      defaultValue = "${env:VIGIL_REGISTRY_TOKEN}",
      description = "Bearer token (default $VIGIL_REGISTRY_TOKEN).")
  String registryToken;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    long started = System.nanoTime();
    try {
      Schema candidate = SchemaFiles.read(schema);
      List<Previous> previousVersions;
      CompatibilityLevel level;
      if (removedPasswordOption != null) {
        return badInput(err, "--registry-password is no longer accepted: a password on the"
            + " command line shows in the process list and the shell history; set"
            + " $VIGIL_REGISTRY_PASSWORD instead");
      }
      if (registry != null) {
        if (!previous.isEmpty()) {
          return badInput(err, "give either --previous files or --registry, not both");
        }
        if (subject == null) {
          return badInput(err, "--registry needs --subject");
        }
        SchemaRegistryClient client = new SchemaRegistryClient(registryConfig());
        previousVersions = new ArrayList<>();
        for (SchemaRegistryClient.SchemaVersion v : client.allVersions(subject)) {
          previousVersions.add(new Previous("v" + v.version(), v.schema()));
        }
        level =
            CompatibilityLevel.parse(
                compatibility != null ? compatibility : client.compatibility(subject));
      } else {
        if (previous.isEmpty()) {
          return badInput(
              err, "nothing to compare with: give --previous FILE.avsc (oldest first) or"
                  + " --registry URL --subject S");
        }
        previousVersions = new ArrayList<>();
        for (Path p : previous) {
          previousVersions.add(new Previous(p.getFileName().toString(), SchemaFiles.read(p)));
        }
        level = compatibility == null ? CompatibilityLevel.BACKWARD
            : CompatibilityLevel.parse(compatibility);
      }
      ConsumerManifest.Subject manifestSubject = null;
      if (consumers != null) {
        manifestSubject = ConsumerManifest.read(consumers).subject(subject);
        if (!previousVersions.isEmpty()) {
          Previous latest = previousVersions.get(previousVersions.size() - 1);
          manifestSubject.requirePresentIn(latest.schema(), latest.label());
        }
      }
      ContractReport report =
          ContractChecker.check(candidate, previousVersions, level, manifestSubject);
      double millis = (System.nanoTime() - started) / 1e6;
      switch (format) {
        case json -> printJson(out, report, millis);
        case github -> printGithub(out, report);
        default -> printText(out, report, millis);
      }
      out.flush();
      return report.compatible() ? COMPATIBLE : INCOMPATIBLE;
    } catch (SchemaFiles.BadSchemaFile | ConsumerManifest.ManifestException e) {
      return badInput(err, e.getMessage());
    } catch (RegistryException | IllegalArgumentException e) {
      return badInput(err, e.getMessage());
    }
  }

  private RegistryConfig registryConfig() {
    RegistryConfig config = RegistryConfig.of(registry);
    if (registryToken != null && !registryToken.isBlank()) {
      return config.withCredentials(RegistryConfig.Credentials.bearer(registryToken));
    }
    if (registryUser != null) {
      if (registryPassword == null) {
        throw new IllegalArgumentException(
            "--registry-user needs a password: set $VIGIL_REGISTRY_PASSWORD");
      }
      return config.withCredentials(RegistryConfig.Credentials.basic(registryUser, registryPassword));
    }
    return config;
  }

  private int badInput(PrintWriter err, String message) {
    if (format == Format.github) {
      spec.commandLine().getOut().println("::error file=" + escapeProperty(schema.toString())
          + ",title=contract check could not run::" + escapeData(message));
      spec.commandLine().getOut().flush();
    }
    err.println("contracts check: " + message);
    err.flush();
    return BAD_INPUT;
  }

  private void printText(PrintWriter out, ContractReport report, double millis) {
    for (String note : report.notes()) {
      out.println("note: " + note);
    }
    int i = 0;
    for (Violation v : report.violations()) {
      out.printf("%d) %s  %s%n", ++i, v.rule(), v.path().isEmpty() ? "(record)" : v.path());
      out.println("   " + v.message());
      out.println("   old type: " + v.oldType() + "   new type: " + v.newType());
      out.println("   checked:  " + v.direction());
      if (!v.features().isEmpty() || !v.models().isEmpty()) {
        out.println("   used by:  features " + v.features() + ", models " + v.models());
      }
      out.println("   fix:      " + v.hint());
    }
    String against = report.checkedAgainst().isEmpty() ? "nothing"
        : String.join(", ", report.checkedAgainst());
    out.printf(
        Locale.ROOT,
        "%s: %s at %s against %s (%d problem%s, %.1f ms)%n",
        schema,
        report.compatible() ? "COMPATIBLE" : "INCOMPATIBLE",
        report.level(),
        against,
        report.violations().size(),
        report.violations().size() == 1 ? "" : "s",
        millis);
  }

  private void printJson(PrintWriter out, ContractReport report, double millis) {
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode root = mapper.createObjectNode();
    root.put("schema", schema.toString());
    root.put("compatible", report.compatible());
    root.put("level", report.level().name());
    ArrayNode against = root.putArray("checked_against");
    report.checkedAgainst().forEach(against::add);
    ArrayNode violations = root.putArray("violations");
    for (Violation v : report.violations()) {
      ObjectNode n = violations.addObject();
      n.put("rule", v.rule());
      n.put("path", v.path());
      n.put("old_type", v.oldType());
      n.put("new_type", v.newType());
      n.put("version", v.against());
      n.put("direction", v.direction());
      n.put("message", v.message());
      n.put("hint", v.hint());
      v.features().forEach(n.putArray("features")::add);
      ArrayNode models = n.putArray("models");
      v.models().forEach(models::add);
    }
    ArrayNode notes = root.putArray("notes");
    report.notes().forEach(notes::add);
    root.put("millis", Math.round(millis * 10) / 10.0);
    out.println(root.toString());
  }

  private void printGithub(PrintWriter out, ContractReport report) {
    String file = escapeProperty(schema.toString());
    for (Violation v : report.violations()) {
      out.println(
          "::error file=" + file + ",title=" + escapeProperty(v.rule() + " " + v.path()) + "::"
              + escapeData(v.message() + " (old " + v.oldType() + ", new " + v.newType()
                  + "; checked: " + v.direction() + ") Fix: " + v.hint()));
    }
    out.println(
        (report.compatible() ? "::notice file=" + file + "::compatible"
            : "::error file=" + file + "::incompatible")
            + escapeData(" at " + report.level() + " against "
                + (report.checkedAgainst().isEmpty() ? "nothing"
                    : String.join(", ", report.checkedAgainst()))
                + " (" + report.violations().size() + " problems)"));
  }

  /** GitHub workflow-command data escaping. */
  static String escapeData(String s) {
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A");
  }

  /** GitHub workflow-command property escaping. */
  static String escapeProperty(String s) {
    return escapeData(s).replace(":", "%3A").replace(",", "%2C");
  }
}
