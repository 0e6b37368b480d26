package dev.vigil.schemas.registry;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A secret given as a reference, {@code ${env:NAME}} (an environment variable) or {@code
 * ${file:PATH}} (a file's content without its trailing line break: a mounted Kubernetes Secret),
 * read only when {@link #resolve()} is called: where the client that needs it is created (an
 * operator's {@code open}), never when the job graph is built. The graph, the Flink UI and the
 * logs carry the reference only. A literal ({@link #literal}) is for tools that got the value
 * from the environment themselves (the contracts CLI); {@link #toString()} never shows it.
 */
public final class Secret implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  /** A whole-value reference: {@code ${env:NAME}} or {@code ${file:PATH}}. */
  public static final Pattern REFERENCE = Pattern.compile("\\$\\{(env|file):([^}]+)}");

  private final String reference;
  private final String literal;

  private Secret(String reference, String literal) {
    this.reference = reference;
    this.literal = literal;
  }

  /** {@code text}, which must be a whole {@code ${env:…}} or {@code ${file:…}} reference. */
  public static Secret reference(String text) {
    Objects.requireNonNull(text, "text");
    if (!isReference(text)) {
      throw new IllegalArgumentException(
          "a secret must be given as ${env:NAME} or ${file:PATH}, not as a literal value");
    }
    return new Secret(text.strip(), null);
  }

  /** A value already in hand (from the environment, by a CLI); kept out of toString. */
  public static Secret literal(String value) {
    return new Secret(null, Objects.requireNonNull(value, "value"));
  }

  /** Whether {@code text} is one whole {@code ${env:…}} or {@code ${file:…}} reference. */
  public static boolean isReference(String text) {
    return text != null && REFERENCE.matcher(text.strip()).matches();
  }

  /** Whether {@code text} contains a reference somewhere (e.g. inside a JAAS config). */
  public static boolean containsReference(String text) {
    return text != null && REFERENCE.matcher(text).find();
  }

  /** The value, read now from the environment or the file. */
  public String resolve() {
    return resolve(System::getenv);
  }

  /** {@link #resolve()} with {@code env} as the environment (tests). */
  public String resolve(Function<String, String> env) {
    if (literal != null) {
      return literal;
    }
    Matcher m = REFERENCE.matcher(reference);
    if (!m.matches()) {
      throw new IllegalStateException("not a reference: " + reference);
    }
    return m.group(1).equals("env") ? env(m.group(2).strip(), env) : file(m.group(2).strip());
  }

  /** The environment variable {@code name}; a message naming it (never a value) if unset. */
  public static String env(String name, Function<String, String> env) {
    String v = env.apply(name);
    if (v == null) {
      throw new IllegalArgumentException(
          "environment variable " + name + " (from ${env:" + name + "}) is not set");
    }
    return v;
  }

  /** The content of {@code path} without its trailing line break. */
  public static String file(String path) {
    try {
      String v = Files.readString(Path.of(path), StandardCharsets.UTF_8);
      return v.endsWith("\r\n")
          ? v.substring(0, v.length() - 2)
          : v.endsWith("\n") ? v.substring(0, v.length() - 1) : v;
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("cannot read ${file:" + path + "}: no such file", e);
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(
          "cannot read ${file:" + path + "}: " + e.getClass().getSimpleName(), e);
    }
  }

  /** The reference text, or null for a literal. */
  public String referenceText() {
    return reference;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Secret s
        && Objects.equals(reference, s.reference)
        && Objects.equals(literal, s.literal);
  }

  @Override
  public int hashCode() {
    return Objects.hash(reference, literal);
  }

  /** The reference (it names where the secret is, not what it is), or {@code ***}. */
  @Override
  public String toString() {
    return reference != null ? reference : "***";
  }
}
