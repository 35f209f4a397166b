#!/usr/bin/env bash
# Builds lambdagate's container image without Docker: an OCI image layout
# (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
# with one layer holding a static lambdagate binary, the CA certificates
# of the build machine (AWS endpoints are HTTPS), and /etc/passwd and
# /etc/group entries for the nonroot user 65532 the chart runs as. No base
# image is pulled. The layer is reproducible: fixed timestamps and owners.
#
# Push it with any OCI tool, e.g.:
#   skopeo copy oci:out/image:0.1.0 docker://ghcr.io/lambdagate/lambdagate:0.1.0
#   crane push out/image ghcr.io/lambdagate/lambdagate:0.1.0
#
# Usage: scripts/build-image.sh [output-dir]   (default: out/image)
# VERSION defaults to the chart's appVersion; the commit is the
# repository's HEAD ("lambdagate version" prints both).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/out/image}"
VERSION="${VERSION:-$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$ROOT/deploy/helm/lambdagate/Chart.yaml")}"
ARCH="${GOARCH:-$(go env GOARCH)}"
CA="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
ROOTFS="$WORK/rootfs"
mkdir -p "$ROOTFS/etc/ssl/certs" "$ROOTFS/tmp"

COMMIT="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
if [ "$COMMIT" != unknown ] && [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]; then
  COMMIT="$COMMIT-dirty"
fi

# A static binary: the image has no libc. Version and commit are link-time
# values (Go's own VCS stamp needs a .git directory).
(cd "$ROOT" && CGO_ENABLED=0 GOOS=linux GOARCH="$ARCH" go build -trimpath \
  -ldflags "-s -w -X github.com/lambdagate/lambdagate/internal/cli.version=$VERSION -X github.com/lambdagate/lambdagate/internal/cli.commit=$COMMIT" \
  -o "$ROOTFS/lambdagate" ./cmd/lambdagate)
cp "$CA" "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$ROOTFS/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$ROOTFS/etc/group"
chmod 0755 "$ROOTFS/lambdagate"
chmod 1777 "$ROOTFS/tmp"

LAYER="$WORK/layer.tar"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$ROOTFS" -cf "$LAYER" .
DIFF_ID="sha256:$(sha256sum "$LAYER" | cut -d' ' -f1)"
gzip -n -9 "$LAYER"
LAYER_GZ="$LAYER.gz"

rm -rf "$OUT"
mkdir -p "$OUT/blobs/sha256"
put() { # put FILE: stores a blob, prints its digest and size
  local d
  d="$(sha256sum "$1" | cut -d' ' -f1)"
  cp "$1" "$OUT/blobs/sha256/$d"
  echo "sha256:$d $(stat -c %s "$1")"
}
read -r LAYER_DIGEST LAYER_SIZE < <(put "$LAYER_GZ")

cat >"$WORK/config.json" <<EOF
{"architecture":"$ARCH","os":"linux","config":{"User":"65532:65532","Entrypoint":["/lambdagate"],"Cmd":["serve","--store=kubernetes"],"Env":["SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"],"WorkingDir":"/","Labels":{"org.opencontainers.image.version":"$VERSION","org.opencontainers.image.revision":"$COMMIT","org.opencontainers.image.source":"https://github.com/lambdagate/lambdagate"}},"rootfs":{"type":"layers","diff_ids":["$DIFF_ID"]},"history":[{"created_by":"scripts/build-image.sh"}]}
EOF
read -r CONFIG_DIGEST CONFIG_SIZE < <(put "$WORK/config.json")

cat >"$WORK/manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$CONFIG_DIGEST","size":$CONFIG_SIZE},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"$LAYER_DIGEST","size":$LAYER_SIZE}]}
EOF
read -r MANIFEST_DIGEST MANIFEST_SIZE < <(put "$WORK/manifest.json")

printf '{"imageLayoutVersion":"1.0.0"}\n' >"$OUT/oci-layout"
cat >"$OUT/index.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"$MANIFEST_DIGEST","size":$MANIFEST_SIZE,"platform":{"architecture":"$ARCH","os":"linux"},"annotations":{"org.opencontainers.image.ref.name":"$VERSION"}}]}
EOF
echo "build-image: lambdagate $VERSION ($COMMIT) as an OCI image layout in $OUT (manifest $MANIFEST_DIGEST)" >&2
