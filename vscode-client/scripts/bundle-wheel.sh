#!/usr/bin/env bash
# Build the switcheroo-lsp wheel from this source tree into vscode-client/bundled/, where every
# .vsix carries it: switcheroo-lsp is not on PyPI, so the Install button of the "not installed"
# notification runs `<python> -m pip install <extension>/bundled/switcheroo_lsp-*.whl`
# (src/install.ts; pip takes the dependencies from the user's index). Needs the package index
# for the build backend (setuptools) unless pip's cache has it.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENT=$PWD
ROOT=$(dirname "$CLIENT")
PYTHON=${PYTHON:-python3}
OUT=$CLIENT/bundled

fail() { printf '\nbundle-wheel FAILED: %s\n' "$*" >&2; exit 1; }
mkdir -p "$OUT"
rm -f "$OUT"/switcheroo_lsp-*.whl
timeout 600 "$PYTHON" -m pip wheel --no-deps --disable-pip-version-check -q -w "$OUT" "$ROOT" \
  2> >(grep -v '^WARNING: Location' >&2) || fail "pip could not build the wheel of $ROOT"
wheels=("$OUT"/switcheroo_lsp-*-py3-none-any.whl)
[ -f "${wheels[0]}" ] && [ "${#wheels[@]}" -eq 1 ] || fail "expected one switcheroo_lsp wheel in $OUT, found: $(ls "$OUT")"
echo "bundled wheel: ${wheels[0]}"
