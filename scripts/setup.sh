#!/usr/bin/env bash
# Installs what lambdagate's tests and quick start need on a fresh Debian
# machine: Node.js (for the walkthrough's Node.js function), redis-server
# (for the shared rate limits' tests) and the linters.
# Safe to run again: it installs only what is missing.
set -euo pipefail

need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
# Shared rate limits count in Redis; their tests start a real
# redis-server on a loopback port.
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# The dashboard's browser test drives Debian's Chromium (never a browser
# download of its own: this machine reaches only package registries).
[ "${SETUP_BROWSER:-1}" = 1 ] && [ ! -x /usr/bin/chromium ] && need_apt+=(chromium)
if ((${#need_apt[@]})); then
  echo "setup: installing ${need_apt[*]} (Debian packages)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

GOBIN="$(go env GOPATH)/bin"
if [ "${SETUP_LINT:-1}" = 1 ] && [ ! -x "$GOBIN/staticcheck" ]; then
  echo "setup: installing staticcheck"
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi

# The dashboard's npm dependencies (Vite to build it, playwright-core for
# its browser test), exactly as locked. Reinstalled only when the lockfile
# changes.
WEB="$(cd "$(dirname "$0")/.." && pwd)/web"
if [ -f "$WEB/package-lock.json" ]; then
  want="$(sha256sum "$WEB/package-lock.json" | cut -d' ' -f1)"
  have="$(cat "$WEB/node_modules/.lambdagate-lock-sha256" 2>/dev/null || true)"
  if [ "$want" != "$have" ]; then
    echo "setup: installing the dashboard's npm dependencies (npm ci in web/)"
    (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$WEB/node_modules/.lambdagate-lock-sha256"
  fi
fi

# Kubernetes mode's tests: controller-gen (CRDs from the Go types), helm
# (lint and template of deploy/helm/lambdagate), and kube-apiserver, kubectl
# and etcd for envtest, built once and cached under ~/.cache/lambdagate/k8s
# (scripts/k8s-assets.sh; 5-7 minutes cold). Off with SETUP_K8S=0 (make run).
if [ "${SETUP_K8S:-${SETUP_LINT:-1}}" = 1 ]; then
  CG_VERSION=v0.23.0
  if ! "$GOBIN/controller-gen" --version 2>/dev/null | grep -q "$CG_VERSION"; then
    echo "setup: installing controller-gen $CG_VERSION"
    go install "sigs.k8s.io/controller-tools/cmd/controller-gen@$CG_VERSION"
  fi
  HELM_VERSION=v3.22.0
  if ! "$GOBIN/helm" version --short 2>/dev/null | grep -q "^$HELM_VERSION"; then
    echo "setup: installing helm $HELM_VERSION (go install)"
    go install -ldflags "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  fi
  "$(dirname "$0")/k8s-assets.sh" >/dev/null
fi
