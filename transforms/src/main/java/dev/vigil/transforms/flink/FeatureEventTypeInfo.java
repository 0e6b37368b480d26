package dev.vigil.transforms.flink;

import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;

/** Type information for {@link FeatureEvent}, so Flink uses {@link FeatureEventSerializer}. */
public final class FeatureEventTypeInfo extends TypeInformation<FeatureEvent> {
  private static final long serialVersionUID = 1L;
  private final String schemaJson;
  private final int featureCount;

  /** The record schema of the events, as JSON. */
  public String schemaJson() {
    return schemaJson;
  }

  /** The number of feature values each event carries. */
  public int featureCount() {
    return featureCount;
  }

  public FeatureEventTypeInfo(String schemaJson, int featureCount) {
    this.schemaJson = schemaJson;
    this.featureCount = featureCount;
  }

  @Override
  public boolean isBasicType() {
    return false;
  }

  @Override
  public boolean isTupleType() {
    return false;
  }

  @Override
  public int getArity() {
    return 1;
  }

  @Override
  public int getTotalFields() {
    return 1;
  }

  @Override
  public Class<FeatureEvent> getTypeClass() {
    return FeatureEvent.class;
  }

  @Override
  public boolean isKeyType() {
    return false;
  }

  @Override
  public TypeSerializer<FeatureEvent> createSerializer(SerializerConfig config) {
    return new FeatureEventSerializer(schemaJson, featureCount);
  }

  @Override
  public String toString() {
    return "FeatureEvent(" + featureCount + " features)";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FeatureEventTypeInfo t && t.schemaJson.equals(schemaJson)
        && t.featureCount == featureCount;
  }

  @Override
  public int hashCode() {
    return schemaJson.hashCode() * 31 + featureCount;
  }

  @Override
  public boolean canEqual(Object o) {
    return o instanceof FeatureEventTypeInfo;
  }
}
