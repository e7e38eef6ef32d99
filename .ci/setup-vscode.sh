#!/usr/bin/env bash
# VS Code side of CI: system packages (Chromium, ripgrep, native build deps), the extension
# (npm ci, lint, typecheck, unit tests, .vsix), and code-server for tests/editors/test_vscode.py.
# Idempotent: a second run skips what is already in place (apt packages, node_modules matching
# package-lock.json, code-server in the cache) and takes a few seconds.
#
# Cache: code-server goes to $SWITCHEROO_CACHE (default ~/.cache/switcheroo-lsp), outside the
# work tree; tests/editors/test_vscode.py looks in the same place (or $SWITCHEROO_CODE_SERVER).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CODE_SERVER_VERSION=4.100.3
CACHE=${SWITCHEROO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switcheroo-lsp}
CODE_SERVER_DIR=$CACHE/code-server-$CODE_SERVER_VERSION
CODE_SERVER_BIN=$CODE_SERVER_DIR/node_modules/.bin/code-server
CLIENT=$ROOT/vscode-client
VSIX=$CLIENT/switcheroo-lsp.vsix

step() { printf '\n--> [vscode] %s\n' "$*"; }
# Run a network step twice before giving up (a registry hiccup should not fail CI).
twice() { "$@" || { echo "(retrying once: $*)" >&2; sleep 5; "$@"; }; }
fail() { printf '\nsetup-vscode FAILED: %s\n' "$*" >&2; exit 1; }
started=$SECONDS

# ---------------------------------------------------------------- system packages
APT_PACKAGES=(chromium ripgrep libkrb5-dev libxkbfile-dev libsecret-1-dev libx11-dev pkg-config
  g++ make fonts-noto-cjk fonts-noto-color-emoji)
missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  step "apt-get install ${missing[*]}"
  command -v apt-get >/dev/null || fail "apt-get not found; install these packages by hand: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  twice timeout 300 apt-get update -qq || fail "apt-get update failed or took more than 5 minutes"
  timeout 600 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || fail "apt-get install ${missing[*]} failed or took more than 10 minutes"
else
  step "system packages already installed"
fi
command -v node >/dev/null || fail "node is not on PATH (Node 20 is needed)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail "Node $(node --version) is too old; Node 20 or newer is needed"

# ---------------------------------------------------------------- the extension
cd "$CLIENT"
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f node_modules/.switcheroo-lock-hash ] && [ "$(cat node_modules/.switcheroo-lock-hash)" = "$lock_hash" ]; then
  step "vscode-client/node_modules matches package-lock.json"
else
  step "npm ci (vscode-client)"
  # No install scripts are needed: esbuild's binary comes as an optional dependency, and
  # vsce's keytar (publishing credentials) is never used for packaging.
  twice timeout 300 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
    || fail "npm ci in vscode-client failed or took more than 5 minutes"
  echo "$lock_hash" > node_modules/.switcheroo-lock-hash
fi

step "eslint"
timeout 120 npm run -s lint || fail "eslint found problems in vscode-client (npm run lint)"
step "typecheck (tsc --noEmit, strict)"
timeout 120 npm run -s typecheck || fail "TypeScript type errors in vscode-client (npm run typecheck)"
step "unit tests (npm test)"
test_log=$(mktemp)
if timeout 120 npm test --silent >"$test_log" 2>&1; then
  { grep -E '^# (tests|pass|fail) ' "$test_log" || true; } | tr '\n' ' '; echo
else
  tail -n 60 "$test_log" >&2
  fail "vscode-client unit tests failed (run 'npm test' in vscode-client)"
fi
rm -f "$test_log"
step "package the .vsix"
rm -f "$VSIX"
# scripts/package.sh: vsce package with the switcheroo-lsp wheel the Install button installs
timeout 900 bash scripts/package.sh "$VSIX" >/dev/null \
  || fail "packaging the .vsix failed (run 'npm run package' in vscode-client)"
python3 -c 'import sys, zipfile; sys.exit(not any(n.startswith("extension/bundled/switcheroo_lsp-") and n.endswith(".whl") for n in zipfile.ZipFile(sys.argv[1]).namelist()))' "$VSIX" \
  || fail "$VSIX carries no switcheroo-lsp wheel (scripts/bundle-wheel.sh)"
[ -s "$VSIX" ] || fail "vsce did not write $VSIX"
cd "$ROOT"

# ---------------------------------------------------------------- code-server
if [ -x "$CODE_SERVER_BIN" ] && HOME=$(mktemp -d) timeout 60 "$CODE_SERVER_BIN" --version 2>/dev/null | grep -q "^$CODE_SERVER_VERSION "; then
  step "code-server $CODE_SERVER_VERSION already in $CODE_SERVER_DIR"
else
  step "npm install code-server@$CODE_SERVER_VERSION into $CODE_SERVER_DIR (about 1-2 minutes)"
  mkdir -p "$CACHE"
  work=$(mktemp -d "$CACHE/.install-XXXXXX")
  trap 'rm -rf "$work"' EXIT
  # @vscode/ripgrep downloads rg from GitHub in its postinstall; pre-seed its cache with Debian's rg.
  mkdir -p "$work/tmp/vscode-ripgrep-cache-1.15.11" "$work/rg" "$work/prefix" "$work/home"
  cp "$(command -v rg)" "$work/rg/rg"
  tar -C "$work/rg" -czf "$work/tmp/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" rg
  echo '{"private": true}' > "$work/prefix/package.json"
  # Native modules (argon2, kerberos, ...) try to download prebuilt binaries from GitHub, then
  # build from source: node-gyp must find Node's headers locally instead of downloading them.
  nodedir_flag=()
  for candidate in "${npm_config_nodedir:-}" /usr /usr/local "$(dirname "$(dirname "$(command -v node)")")"; do
    if [ -n "$candidate" ] && [ -f "$candidate/include/node/node.h" ]; then nodedir_flag=(--nodedir="$candidate"); break; fi
  done
  [ "${#nodedir_flag[@]}" -gt 0 ] || fail "Node's C headers (include/node/node.h) were not found; install Debian's libnode-dev or a Node with headers"
  (
    cd "$work/prefix"
    # As root, code-server's postinstall needs unsafe-perm; the machine's npmrc says yes=false.
    export TMPDIR=$work/tmp npm_config_unsafe_perm=true npm_config_yes=true
    twice timeout 600 npm install --no-audit --no-fund --loglevel=error "${nodedir_flag[@]}" "code-server@$CODE_SERVER_VERSION"
  ) > "$work/npm.log" 2>&1 || { tail -n 40 "$work/npm.log" >&2; fail "npm install code-server@$CODE_SERVER_VERSION failed or took more than 10 minutes (log above)"; }
  HOME=$work/home timeout 60 "$work/prefix/node_modules/.bin/code-server" --version >/dev/null 2>&1 \
    || fail "code-server was installed but does not start (try: $work/prefix/node_modules/.bin/code-server --version)"
  rm -rf "$CODE_SERVER_DIR"
  mv "$work/prefix" "$CODE_SERVER_DIR"
  rm -rf "$work"
  trap - EXIT
fi

step "done in $((SECONDS - started)) s (code-server: $CODE_SERVER_BIN, extension: $VSIX)"
