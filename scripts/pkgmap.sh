#!/usr/bin/env bash
# Prints the module's package map for docs/design.md: each package with the
# module's packages it imports, from `go list`, so the table in the design
# document can be regenerated instead of kept up to date by hand. Imports
# only a package's tests make are listed apart: they do not shape the
# program but do tie packages together.
#
# With --check it prints nothing and fails when docs/design.md does not
# hold the current table.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1-} == --check ]]; then
  table=$("$0")
  if ! grep -qxF -- "$(head -1 <<<"$table")" docs/design.md ||
    ! diff <(grep -A "$(($(wc -l <<<"$table") - 1))" -xF -- "$(head -1 <<<"$table")" docs/design.md) - <<<"$table" >/dev/null; then
    echo "docs/design.md's package map is out of date: run scripts/pkgmap.sh and paste its table" >&2
    exit 1
  fi
  exit 0
fi
mod=$(go list -m)
echo "| package | imports (this module) | tests also import |"
echo "|---|---|---|"
go list -f '{{.ImportPath}}|{{join .Imports " "}}|{{join .TestImports " "}} {{join .XTestImports " "}}' ./... |
  while IFS='|' read -r pkg imports testImports; do
    pkg=${pkg#"$mod"/}
    own=()
    for i in $imports; do
      [[ $i == "$mod"/* ]] && own+=("${i#"$mod"/}")
    done
    tests=()
    for i in $testImports; do
      [[ $i == "$mod"/* ]] || continue
      i=${i#"$mod"/}
      [[ $i == "$pkg" || " ${own[*]-} " == *" $i "* || " ${tests[*]-} " == *" $i "* ]] && continue
      tests+=("$i")
    done
    sorted=$(printf '%s\n' "${tests[@]-}" | sort | sed '/^$/d' | paste -sd' ' -)
    own=${own[*]-}
    printf '| %s | %s | %s |\n' "$pkg" "${own:-—}" "${sorted:-—}"
  done
