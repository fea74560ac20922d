#!/usr/bin/env bash
# Installs everything the book, the tests and the live chapters need on a fresh Debian machine: Debian packages
# (Chromium for the browser tests, Fashion-MNIST as the offline digits fallback, Node.js/npm for the vendored
# JavaScript) and the Python package with the exact versions of constraints.txt (the one place versions are pinned;
# pyproject.toml only says what the library needs).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y --no-install-recommends "${need[@]}" \
    || { $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends "${need[@]}"; }
fi

PYTHON=${PYTHON:-python3}
# torch first, alone, at its pinned version: an unpinned resolve would pull the multi-gigabyte CUDA build
$PYTHON -m pip install --quiet -c constraints.txt torch
$PYTHON -m pip install --quiet -c constraints.txt -e ".[test,lab]"
