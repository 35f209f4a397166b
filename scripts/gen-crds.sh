#!/usr/bin/env bash
# Generates the CustomResourceDefinitions (deploy/crds and the Helm chart's
# crds/) from the Go types with controller-gen, via the generation-only root
# types in internal/store/kube/crd.
#
# api/core/v1.Duration embeds time.Duration without a JSON tag (it has its own
# JSON methods), which controller-gen refuses; it also cannot know the JSON
# form is a string ("15s"). So generation runs on a scratch copy of the
# sources where Duration is marked as a string. The repository's sources are
# not changed.
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
DUR="$WORK/api/core/v1/types.go"
grep -q '^type Duration struct {$' "$DUR" || { echo "gen-crds: api/core/v1.Duration changed shape; update this script" >&2; exit 1; }
sed -i -e 's|^type Duration struct {$|// +kubebuilder:validation:Type=string\ntype Duration struct {|' \
  -e 's|^\ttime\.Duration$|\ttime.Duration `json:"-"`|' "$DUR"

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
