#!/usr/bin/env bash
# Builds the Kubernetes test binaries (kube-apiserver, kubectl) and copies
# etcd next to them, for envtest (KUBEBUILDER_ASSETS). setup-envtest cannot
# download here, so kube-apiserver is built from the Go module proxy: a
# scratch module requires k8s.io/kubernetes and replaces each ./staging
# module with its published k8s.io/<name> v0.Y.Z. Cold: 5-7 minutes; then
# cached under ~/.cache/lambdagate/k8s/vX.Y.Z (keyed by version) and skipped.
#
# Prints the assets directory on its last line.
set -euo pipefail

V="${K8S_VERSION:-1.34.4}"
DEST="${LAMBDAGATE_K8S_ASSETS:-$HOME/.cache/lambdagate/k8s/v$V}"

if [ -x "$DEST/kube-apiserver" ] && [ -x "$DEST/kubectl" ] && [ -x "$DEST/etcd" ]; then
  echo "$DEST"
  exit 0
fi
mkdir -p "$DEST"

# etcd from Debian (etcd-server); the apiserver needs it, envtest starts it.
if ! command -v etcd >/dev/null 2>&1 && [ ! -x /usr/bin/etcd ]; then
  echo "k8s-assets: installing etcd-server (Debian package)" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq etcd-server >/dev/null
fi
ETCD="$(command -v etcd || echo /usr/bin/etcd)"
cp "$ETCD" "$DEST/etcd.tmp" && mv "$DEST/etcd.tmp" "$DEST/etcd"

if [ ! -x "$DEST/kube-apiserver" ] || [ ! -x "$DEST/kubectl" ]; then
  echo "k8s-assets: building kube-apiserver and kubectl v$V from the Go module proxy (5-7 minutes cold)" >&2
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
  cd "$WORK"
  go mod download -json "k8s.io/kubernetes@v$V" >/dev/null
  M="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v$V.mod"
  {
    echo "module example.com/kbuild"; echo; echo "go 1.24.0"; echo
    echo "godebug default=go1.24"; echo
    echo "require k8s.io/kubernetes v$V"; echo
    echo "replace ("
    sed -n '/^replace (/,/^)/p' "$M" | grep '=> ./staging' |
      awk -v v="v0.${V#1.}" '{print "\t"$1" => "$1" "v}'
    echo ")"
  } > go.mod
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' > tools.go
  # The scratch module is outside the repository; tidy resolves its graph.
  GOFLAGS=-mod=mod go mod tidy >&2
  MINOR="$(echo "$V" | cut -d. -f2)"
  P=k8s.io/component-base/version
  LD="-s -w -X $P.gitVersion=v$V -X $P.gitMajor=1 -X $P.gitMinor=$MINOR -X $P.gitTreeState=clean"
  go build -trimpath -ldflags "$LD" -o "$DEST/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  go build -trimpath -ldflags "$LD" -o "$DEST/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl
  mv "$DEST/kube-apiserver.tmp" "$DEST/kube-apiserver"
  mv "$DEST/kubectl.tmp" "$DEST/kubectl"
fi
echo "$DEST"
