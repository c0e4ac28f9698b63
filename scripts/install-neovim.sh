#!/usr/bin/env bash
# Installs Debian's `neovim` when `nvim` is missing, for the editor test (tests/lsp_neovim.rs).
# Runs unattended (CI: root, no standard input); uses sudo when not root.
set -euo pipefail
if command -v nvim >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-neovim: nvim is missing and there is no apt-get; install Neovim (0.7 or later) by hand" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo -n)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq </dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends neovim </dev/null
nvim --version | head -1
