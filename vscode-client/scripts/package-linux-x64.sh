#!/usr/bin/env bash
# The platform-specific .vsix for Linux x64: the extension plus bundled/ (scripts/bundle-python.sh:
# the server, its pure-Python dependencies and libcst/pyyaml for CPython 3.10-3.14, and the wheel
# the Install button pip-installs where the bundle cannot run), so it runs
# out of the box with any of those interpreters. bundled/ is removed afterwards, so that a plain
# `npm run package` (scripts/package.sh: the wheel only) stays plain.
# Usage: bash scripts/package-linux-x64.sh [OUT.vsix]   (default: switcheroo-lsp-linux-x64.vsix)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(realpath -m "${1:-switcheroo-lsp-linux-x64.vsix}")
trap 'rm -rf bundled' EXIT
bash scripts/bundle-python.sh
rm -f "$OUT"
npx --no-install vsce package --no-dependencies --target linux-x64 --out "$OUT"
