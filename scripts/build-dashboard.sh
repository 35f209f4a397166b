#!/usr/bin/env bash
# Builds the web dashboard (web/) into internal/dashboard/dist, which the Go
# binary embeds, when its sources changed since the last build. The hash of
# the sources is kept in internal/dashboard/sources.sha256 (committed with
# dist/), so a fresh clone with an up-to-date dist needs no npm at all.
#   scripts/build-dashboard.sh          build if the sources changed
#   scripts/build-dashboard.sh --force  build anyway
set -euo pipefail
cd "$(dirname "$0")/.."

# The sources are every file Vite reads; the same list and format as
# sourcesHash in internal/dashboard/dashboard_test.go.
sources_hash() {
  (cd web && find index.html vite.config.js package.json package-lock.json src -type f | LC_ALL=C sort | xargs sha256sum) |
    sha256sum | cut -d' ' -f1
}

stamp=internal/dashboard/sources.sha256
want="$(sources_hash)"
if [ "${1:-}" != "--force" ] && [ -f internal/dashboard/dist/index.html ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
if [ ! -x web/node_modules/.bin/vite ]; then
  SETUP_LINT=0 SETUP_BROWSER=0 scripts/setup.sh
fi
echo "build-dashboard: building web/ into internal/dashboard/dist"
(cd web && npm run --silent build -- --logLevel warn)
echo "$want" >"$stamp"
