package dev.vigil.jobs;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** An enum as a configuration value: its name in lower case, parsed back with the choices named. */
final class ConfigEnums {
  private ConfigEnums() {}

  static String configValue(Enum<?> value) {
    return value.name().toLowerCase(Locale.ROOT);
  }

  /** The constant of {@code type} whose config value is {@code value}. */
  static <E extends Enum<E>> E parse(Class<E> type, String value) {
    for (E e : type.getEnumConstants()) {
      if (configValue(e).equals(value)) {
        return e;
      }
    }
    throw new IllegalArgumentException("'" + value + "' is not one of "
        + Arrays.stream(type.getEnumConstants()).map(ConfigEnums::configValue)
            .collect(Collectors.joining(", ")));
  }
}
