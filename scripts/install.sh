#!/usr/bin/env bash
# Installs everything the book and the tests need on a fresh Debian machine: Debian packages (Chromium for the
# browser test, Fashion-MNIST as the offline digits fallback, Node.js/npm for the vendored JavaScript) and the
# Python package with its pinned dependencies (pyproject.toml is the one place versions are pinned).
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
# torch first and pinned: an unpinned resolve would pull the multi-gigabyte CUDA build
$PYTHON -m pip install --quiet "torch==2.13.0"
$PYTHON -m pip install --quiet -e ".[test]"
