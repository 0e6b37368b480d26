package dev.vigil.schemas.contracts;

import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;

/**
 * Turns Avro's JSON-pointer locations ({@code /fields/3/type/items}) into the field paths people
 * write ({@code billing.items[]}), and finds fields by path.
 */
public final class FieldPaths {
  private FieldPaths() {}

  /** The field path that {@code pointer} (relative to {@code schema}) points into; "" for the root. */
  public static String of(Schema schema, String pointer) {
    if (pointer == null || pointer.isEmpty() || pointer.equals("/")) {
      return "";
    }
    String[] tokens = pointer.substring(pointer.startsWith("/") ? 1 : 0).split("/");
    StringBuilder path = new StringBuilder();
    Schema current = schema;
    for (int i = 0; i < tokens.length && current != null; i++) {
      String token = tokens[i];
      switch (token) {
        case "fields" -> {
          if (i + 1 >= tokens.length) {
            return path.toString();
          }
          Schema record = nonNullBranch(current);
          int index = Integer.parseInt(tokens[++i]);
          if (record.getType() != Schema.Type.RECORD || index >= record.getFields().size()) {
            return path.toString();
          }
          Schema.Field field = record.getFields().get(index);
          if (path.length() > 0) {
            path.append('.');
          }
          path.append(field.name());
          current = field.schema();
        }
        case "type" -> {
          // the field's type: already there
        }
        case "items" -> {
          current = nonNullBranch(current).getElementType();
          path.append("[]");
        }
        case "values" -> {
          current = nonNullBranch(current).getValueType();
          path.append("{}");
        }
        default -> {
          if (token.chars().allMatch(Character::isDigit) && current.getType() == Schema.Type.UNION) {
            int branch = Integer.parseInt(token);
            current = branch < current.getTypes().size() ? current.getTypes().get(branch) : null;
          } else {
            return path.toString(); // symbols, size, name: about the type itself
          }
        }
      }
    }
    return path.toString();
  }

  /** The field at dotted {@code path} (records nested through nullable unions), or null. */
  public static Schema.Field find(Schema schema, String path) {
    Schema current = schema;
    Schema.Field field = null;
    for (String name : path.split("\\.")) {
      Schema record = nonNullBranch(current);
      if (record.getType() != Schema.Type.RECORD) {
        return null;
      }
      field = record.getField(name);
      if (field == null) {
        return null;
      }
      current = field.schema();
    }
    return field;
  }

  /** Every leaf and record field path of {@code schema}, depth first. */
  public static List<String> all(Schema schema) {
    List<String> paths = new ArrayList<>();
    collect(schema, "", paths, 0);
    return paths;
  }

  private static void collect(Schema schema, String prefix, List<String> out, int depth) {
    Schema record = nonNullBranch(schema);
    if (record.getType() != Schema.Type.RECORD || depth > 16) {
      return;
    }
    for (Schema.Field f : record.getFields()) {
      String path = prefix.isEmpty() ? f.name() : prefix + "." + f.name();
      out.add(path);
      collect(f.schema(), path, out, depth + 1);
    }
  }

  /** A nullable union's non-null branch; any other schema as it is. */
  public static Schema nonNullBranch(Schema schema) {
    if (schema.getType() == Schema.Type.UNION) {
      Schema only = null;
      for (Schema branch : schema.getTypes()) {
        if (branch.getType() != Schema.Type.NULL) {
          if (only != null) {
            return schema;
          }
          only = branch;
        }
      }
      return only == null ? schema : only;
    }
    return schema;
  }

  /** A short human name for a type: {@code long}, {@code ["null","string"]}, {@code record Foo}. */
  public static String typeName(Schema schema) {
    if (schema == null) {
      return "(absent)";
    }
    return switch (schema.getType()) {
      case UNION -> {
        List<String> branches = new ArrayList<>();
        for (Schema b : schema.getTypes()) {
          branches.add("\"" + simpleTypeName(b) + "\"");
        }
        yield "[" + String.join(",", branches) + "]";
      }
      case RECORD, ENUM, FIXED -> schema.getType().getName() + " " + schema.getName();
      case ARRAY -> "array<" + typeName(schema.getElementType()) + ">";
      case MAP -> "map<" + typeName(schema.getValueType()) + ">";
      default -> schema.getType().getName();
    };
  }

  private static String simpleTypeName(Schema schema) {
    return switch (schema.getType()) {
      case RECORD, ENUM, FIXED -> schema.getName();
      default -> schema.getType().getName();
    };
  }
}
