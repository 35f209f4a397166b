#!/usr/bin/env bash
# Installs what lambdagate's tests and quick start need on a fresh Debian
# machine: Node.js (for the walkthrough's Node.js function) and the linters.
# Safe to run again: it installs only what is missing.
set -euo pipefail

need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
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
