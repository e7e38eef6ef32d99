#!/usr/bin/env bash
# The install paths the README describes, from a clean clone: build the wheel and sdist
# (python -m build), install the wheel into a fresh virtualenv (no system site-packages: pygls,
# lsprotocol and libcst come from the package index, as for a user), run the CLI on the example
# and start the server once (LSP initialize/shutdown/exit over stdio). The .vsix is built by
# .ci/setup-vscode.sh. Artifacts go to $SWITCHEROO_DIST (default: dist/ in the work tree).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIST=${SWITCHEROO_DIST:-$ROOT/dist}
PYTHON=${PYTHON:-python3}

step() { printf '\n--> [install] %s\n' "$*"; }
fail() { printf '\ncheck-install FAILED: %s\n' "$*" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "python -m build (wheel and sdist) into $DIST"
rm -rf "$DIST"
timeout 600 "$PYTHON" -m build --outdir "$DIST" "$ROOT" >"$work/build.log" 2>&1 \
  || { tail -n 40 "$work/build.log" >&2; fail "python -m build failed or took over 10 minutes (log above)"; }
wheels=("$DIST"/switcheroo_lsp-*-py3-none-any.whl)
sdists=("$DIST"/switcheroo_lsp-*.tar.gz)
[ -f "${wheels[0]}" ] || fail "no wheel in $DIST: $(ls "$DIST")"
[ -f "${sdists[0]}" ] || fail "no sdist in $DIST: $(ls "$DIST")"
# The wheel must carry the runtime (its source is the inlined KeyMapper), the type marker and the
# start-up hook at its top (switcheroo-lsp-startup.pth: `python -m switcheroo_lsp` in a folder
# holding types.py or warnings.py must not run them; tests/robustness/test_startup_shadowing.py).
"$PYTHON" - "${wheels[0]}" <<'PY' || fail "the wheel lacks files the package needs (see above)"
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
needed = {"switcheroo_lsp/__main__.py", "switcheroo_lsp/cli/__init__.py", "switcheroo_lsp/cli/__main__.py", "switcheroo_lsp/cli/output/sarif.py", "switcheroo_lsp/runtime/keymapper.py", "switcheroo_lsp/py.typed", "switcheroo-lsp-startup.pth"}
missing = sorted(needed - names)
if missing:
    sys.exit(f"missing from {sys.argv[1]}: {missing}")
PY

step "fresh virtualenv, pip install the wheel (dependencies from the index)"
"$PYTHON" -m venv "$work/venv" || fail "python -m venv failed"
VENV_BIN=$work/venv/bin
# Leave this checkout out of the environment: only the installed wheel may be used.
unset PYTHONPATH
timeout 600 "$VENV_BIN/python" -m pip install -q "${wheels[0]}" \
  || fail "pip install ${wheels[0]} into a fresh venv failed or took over 10 minutes"
origin=$(cd "$work" && "$VENV_BIN/python" -c 'import switcheroo_lsp; print(switcheroo_lsp.__file__)')
purelib=$("$VENV_BIN/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
[ -f "$purelib/switcheroo-lsp-startup.pth" ] || fail "pip did not put switcheroo-lsp-startup.pth in $purelib"
case "$origin" in
  "$work/venv/"*) ;;
  *) fail "switcheroo_lsp was imported from $origin, not from the fresh venv" ;;
esac

step "switcheroo check examples/train.py (expects exit 1 and a checkpoint-keys finding)"
set +e
(cd "$work" && timeout 120 "$VENV_BIN/switcheroo" check "$ROOT/examples/train.py") >"$work/check.out" 2>&1
rc=$?
set -e
cat "$work/check.out"
[ "$rc" -eq 1 ] || fail "switcheroo check exited $rc (expected 1: a model call to migrate)"
grep -q 'train.py:[0-9]*:[0-9]*: checkpoint-keys' "$work/check.out" \
  || fail "switcheroo check printed no checkpoint-keys finding"

step "switcheroo fix --diff examples/train.py (expects a KeyMapper.from_torch rewrite)"
set +e
(cd "$work" && timeout 120 "$VENV_BIN/switcheroo" fix --diff "$ROOT/examples/train.py") >"$work/diff.out" 2>&1
rc=$?
set -e
grep -q '^+.*KeyMapper.from_torch(' "$work/diff.out" \
  || { cat "$work/diff.out" >&2; fail "switcheroo fix --diff (exit $rc) showed no KeyMapper.from_torch rewrite"; }

step "switcheroo-lsp: initialize/shutdown/exit over stdio"
"$VENV_BIN/switcheroo-lsp" --version || fail "switcheroo-lsp --version failed"
timeout 120 "$VENV_BIN/python" "$ROOT/.ci/lsp_smoke.py" "$VENV_BIN/switcheroo-lsp" \
  || fail "the installed switcheroo-lsp did not answer initialize/shutdown over stdio"

step "python -m switcheroo_lsp in a folder holding types.py and warnings.py runs neither"
mkdir "$work/shadowing"
for name in types warnings functools; do
  printf 'open(%s, "w").close()\n' "'$work/shadowing/RAN_$name'" >"$work/shadowing/$name.py"
done
(cd "$work/shadowing" && timeout 120 "$VENV_BIN/python" "$ROOT/.ci/lsp_smoke.py" "$VENV_BIN/python" -m switcheroo_lsp) \
  || fail "python -m switcheroo_lsp did not start in a folder shadowing the standard library"
ls "$work/shadowing"/RAN_* >/dev/null 2>&1 && fail "python -m switcheroo_lsp ran $(ls "$work/shadowing" | grep RAN_)"

step "the Linux x64 .vsix with the bundled server (vscode-client: npm run package:linux-x64)"
VSIX=$DIST/switcheroo-lsp-linux-x64.vsix
[ -d "$ROOT/vscode-client/node_modules" ] || fail "vscode-client/node_modules is missing (npm ci in vscode-client; .ci/setup-vscode.sh does it)"
[ -f "$ROOT/vscode-client/dist/extension.js" ] || (cd "$ROOT/vscode-client" && timeout 120 npm run -s build) \
  || fail "the extension does not build (npm run build in vscode-client)"
timeout 900 bash "$ROOT/vscode-client/scripts/package-linux-x64.sh" "$VSIX" >"$work/vsix.log" 2>&1 \
  || { tail -n 40 "$work/vsix.log" >&2; fail "packaging the linux-x64 .vsix failed or took over 15 minutes (log above)"; }
mkdir "$work/vsix"
"$PYTHON" -m zipfile -e "$VSIX" "$work/vsix" || fail "$VSIX is not a readable zip"
EXT=$work/vsix/extension
grep -q '"targetPlatform" *: *"linux-x64"\|TargetPlatform="linux-x64"' "$work/vsix/extension.vsixmanifest" \
  || fail "$VSIX does not declare the linux-x64 target platform"
[ -f "$EXT/bundled/libs/switcheroo_lsp/__main__.py" ] || fail "$VSIX does not carry bundled/libs/switcheroo_lsp"
# The wheel the Install button pip-installs (src/install.ts), installed the way the button does it.
vsix_wheels=("$EXT"/bundled/switcheroo_lsp-*-py3-none-any.whl)
[ -f "${vsix_wheels[0]}" ] || fail "$VSIX does not carry bundled/switcheroo_lsp-*.whl for its Install button"
"$PYTHON" -m venv "$work/button" || fail "python -m venv failed"
(cd "$EXT" && timeout 600 "$work/button/bin/python" -m pip install -q "${vsix_wheels[0]}") \
  || fail "pip could not install the wheel ${vsix_wheels[0]##*/} that $VSIX carries"
(cd "$work" && "$work/button/bin/python" -m switcheroo_lsp --version) \
  || fail "the server installed from the .vsix's wheel does not run"
# The bundled server, run the way the extension runs it: an interpreter without switcheroo-lsp
# (a fresh venv without pip) and PYTHONPATH on the bundle.
"$PYTHON" -m venv --without-pip "$work/bare" || fail "python -m venv failed"
BARE=$work/bare/bin/python
tag=$("$BARE" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
[ -d "$EXT/bundled/native/$tag" ] || fail "$VSIX carries no native libraries for $tag ($(ls "$EXT/bundled/native" | tr '\n' ' '))"
if (cd "$work" && "$BARE" -c 'import switcheroo_lsp' 2>/dev/null); then
  fail "the bare venv already sees switcheroo_lsp: the bundle would not be what runs"
fi
(cd "$work" && PYTHONPATH=$EXT/bundled/libs:$EXT/bundled/native/$tag timeout 120 \
  "$BARE" "$ROOT/.ci/lsp_smoke.py" "$BARE" -m switcheroo_lsp) \
  || fail "the server bundled in $VSIX did not answer initialize/shutdown with $BARE ($tag)"

step "done: $(ls "$DIST" | tr '\n' ' ')"
