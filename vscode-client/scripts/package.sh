#!/usr/bin/env bash
# The plain .vsix (any platform): the extension and the switcheroo-lsp wheel (scripts/bundle-wheel.sh)
# that its Install button pip-installs into the user's interpreter. It runs no bundled server: for
# that, scripts/package-linux-x64.sh. bundled/ is removed afterwards (never in git).
# Usage: bash scripts/package.sh [OUT.vsix]   (default: switcheroo-lsp.vsix)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(realpath -m "${1:-switcheroo-lsp.vsix}")
trap 'rm -rf bundled' EXIT
rm -rf bundled
bash scripts/bundle-wheel.sh
rm -f "$OUT"
npx --no-install vsce package --no-dependencies --out "$OUT"
