#!/usr/bin/env bash
# Fill vscode-client/bundled/ with the server and its dependencies, so the .vsix runs the server
# with the user's own Python when that Python lacks switcheroo-lsp (the extension then sets
# PYTHONPATH to these folders; decisions.ts: bundledLaunch):
#   bundled/switcheroo_lsp-*.whl   the wheel built from this source tree (scripts/bundle-wheel.sh),
#                           which the Install button pip-installs when the bundle cannot run
#   bundled/libs/           switcheroo_lsp (that wheel, unpacked) and its pure-Python
#                           dependencies: pygls, lsprotocol, attrs, cattrs, typing_extensions,
#                           and for Python 3.10 exceptiongroup and tomli
#   bundled/native/cp3XX/   libcst and pyyaml, whose wheels are native, one folder per CPython
#                           version, for the platform of the vsix (--target linux-x64 only, so far)
# Versions are the ones pinned in pyproject.toml's test extra (what CI proves). Needs the package
# index (pip download) unless pip's cache has the wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENT=$PWD
ROOT=$(dirname "$CLIENT")
PYTHON=${PYTHON:-python3}
OUT=$CLIENT/bundled
PLATFORM=manylinux_2_28_x86_64
CPYTHONS=(3.10 3.11 3.12 3.13 3.14)

fail() { printf '\nbundle-python FAILED: %s\n' "$*" >&2; exit 1; }
pin() { # the exact version pinned in pyproject.toml's test extra
  "$PYTHON" - "$ROOT/pyproject.toml" "$1" <<'PY'
import re, sys, tomllib
extra = tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]["test"]
pins = [r for r in extra if re.fullmatch(rf"{re.escape(sys.argv[2])}==[^;\s]+", r, re.IGNORECASE)]
sys.exit(f"{sys.argv[2]} is not pinned with == in the test extra") if not pins else print(pins[0])
PY
}
pip_quiet() { timeout 600 "$PYTHON" -m pip "$@" --disable-pip-version-check --root-user-action=ignore -q 2> >(grep -v '^WARNING: Location' >&2); }

rm -rf "$OUT"
mkdir -p "$OUT/libs" "$OUT/native"
bash "$CLIENT/scripts/bundle-wheel.sh"
wheels=("$OUT"/switcheroo_lsp-*-py3-none-any.whl)
pure=("$(pin pygls)" "$(pin lsprotocol)" "attrs==$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("attrs"))')"
  "cattrs==$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("cattrs"))')"
  "typing_extensions==$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("typing_extensions"))')"
  # Python 3.10 only (standard library from 3.11): cattrs imports exceptiongroup there, and
  # switcheroo reads pyproject.toml with tomli. Pure Python, harmless on newer versions.
  "exceptiongroup==1.3.2" "tomli==2.5.0")
native=("$(pin libcst)" "pyyaml==$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("pyyaml"))')")

echo "bundling ${pure[*]} and switcheroo-lsp from $ROOT into $OUT/libs"
pip_quiet install --no-deps --no-compile --only-binary :all: --target "$OUT/libs" "${pure[@]}" \
  || fail "pip could not fetch ${pure[*]}"
pip_quiet install --no-deps --no-compile --target "$OUT/libs" "${wheels[0]}" || fail "pip could not install ${wheels[0]}"
for version in "${CPYTHONS[@]}"; do
  tag=cp${version/./}
  echo "bundling ${native[*]} for CPython $version ($PLATFORM) into $OUT/native/$tag"
  pip_quiet install --no-deps --no-compile --only-binary :all: --implementation cp --python-version "$version" \
    --platform "$PLATFORM" --target "$OUT/native/$tag" "${native[@]}" \
    || fail "no ${native[*]} wheels for CPython $version on $PLATFORM"
done
# Console scripts, caches, libcst's own test suite and the start-up hook (a .pth file works only in
# site-packages; the extension never puts the workspace on sys.path) are of no use here.
rm -rf "$OUT"/libs/bin "$OUT"/native/*/bin "$OUT"/libs/*.pth
find "$OUT" -name __pycache__ -prune -exec rm -rf {} +
find "$OUT"/native/*/libcst -type d -name tests -prune -exec rm -rf {} +
[ -f "$OUT/libs/switcheroo_lsp/__main__.py" ] || fail "switcheroo_lsp is missing from $OUT/libs"
echo "bundled: $(du -sh "$OUT" | cut -f1)"
