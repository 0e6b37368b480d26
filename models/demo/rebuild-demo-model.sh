#!/usr/bin/env bash
# Rebuilds the bundled demo model, models/src/main/resources/dev/vigil/models/demo/fraud-demo.json:
#   1. generate: FraudGenerator data (seed 42, 2,000 cards, 60 days) -> transactions.jsonl, labels.csv
#   2. backfill: `vigil features backfill` over examples/features.yaml -> features.jsonl
#   3. train:    DemoModelTrainer (XGBoost, fixed seed and parameters, one thread) -> fraud-demo.json
# Deterministic: the same inputs give the same model file (and so the same model version).
#
# Env: VIGIL_BUILD_DIR (default target) is the Maven build folder; VIGIL_BACKFILL replaces the
# backfill command (default: ./vigil features backfill); DEMO_WORK is where the data goes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
build="${VIGIL_BUILD_DIR:-target}"
work="${DEMO_WORK:-$root/models/$build/demo-data}"
model="models/src/main/resources/dev/vigil/models/demo/fraud-demo.json"

./mvnw -B -q -Dvigil.build.dir="$build" -pl models -am -DskipTests package \
  dependency:build-classpath -Dmdep.outputFile="$build/classpath.txt" -Dmdep.includeScope=runtime
cp="models/$build/classes:$(cat "models/$build/classpath.txt")"

java -cp "$cp" dev.vigil.models.demo.WriteDemoData --cards 2000 --days 60 --seed 42 --out "$work"
# shellcheck disable=SC2086 # VIGIL_BACKFILL is a command line
${VIGIL_BACKFILL:-./vigil features backfill} \
  --spec examples/features.yaml --input "$work/transactions.jsonl" --output "$work/features.jsonl"
java -cp "$cp" dev.vigil.models.train.DemoModelTrainer \
  --features "$work/features.jsonl" --labels "$work/labels.csv" --out "$model"
