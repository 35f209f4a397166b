#!/usr/bin/env bash
# Generates the CustomResourceDefinitions (deploy/crds and the Helm chart's
# crds/) from the Go types with controller-gen, via the generation-only root
# types in internal/store/kube/crd.
#
# Generation runs on a scratch copy of the sources so that controller-gen's
# module resolution never touches the repository's go.mod.
#
# Usage: scripts/gen-crds.sh [output-dir]   (default: deploy/crds)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/deploy/crds}"
CHART_CRDS="$ROOT/deploy/helm/lambdagate/crds"
CG="${CONTROLLER_GEN:-$(go env GOPATH)/bin/controller-gen}"
if [ ! -x "$CG" ]; then
  echo "gen-crds: controller-gen not found at $CG; run scripts/setup.sh" >&2
  exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp "$ROOT/go.mod" "$ROOT/go.sum" "$WORK/"
mkdir -p "$WORK/internal/store/kube"
cp -r "$ROOT/api" "$WORK/api"
cp -r "$ROOT/internal/store/kube/crd" "$WORK/internal/store/kube/crd"

GEN="$WORK/out"
(cd "$WORK" && GOWORK=off GOFLAGS=-mod=mod "$CG" crd:crdVersions=v1 paths=./internal/store/kube/crd/... output:crd:dir="$GEN")

mkdir -p "$OUT"
for f in "$GEN"/*.yaml; do
  cp "$f" "$OUT/$(basename "$f")"
done
if [ -z "${1:-}" ]; then
  mkdir -p "$CHART_CRDS"
  cp "$GEN"/*.yaml "$CHART_CRDS/"
fi
echo "gen-crds: wrote $(ls "$GEN" | tr '\n' ' ')to $OUT" >&2
