#!/usr/bin/env bash
# Measures the local Lambda's cold start and warm invoke latency with the
# walkthrough's Node.js echo function, through the real aws-sdk-go-v2 client
# on loopback. Prints Go benchmark lines (ns/op and the custom metrics).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
go test -run '^$' -bench 'BenchmarkWarmInvokeNode|BenchmarkColdStartNode' -benchtime "${BENCHTIME:-3s}" -count "${COUNT:-1}" ./internal/locallambda/
