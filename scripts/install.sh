#!/usr/bin/env bash
# Installs what GAN Studio needs on a fresh Debian machine with Python 3.11.
#   scripts/install.sh          the app and training (pip, plus Debian's Fashion-MNIST package)
#   scripts/install.sh --dev    also the test tools: pytest, Playwright, Debian's Chromium, Node examples,
#                               Debian's PostgreSQL server and psycopg (the sweep's tests start a throwaway server)
# Safe to run again: each step is skipped or quick when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=false
[ "${1:-}" = "--dev" ] && dev=true

apt_packages=(dataset-fashion-mnist)
$dev && apt_packages+=(chromium postgresql)
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# onnxruntime and onnxruntime-gpu install the same `onnxruntime` module: uninstalling one of two deletes
# files the other needs. requirements.txt wants onnxruntime-gpu on Linux x86-64 (it has wheels there) and
# onnxruntime elsewhere, so the other one goes first; then pip installs the right one whole.
if [ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ]; then wrong=onnxruntime; else wrong=onnxruntime-gpu; fi
if python3 -m pip show -q "$wrong" >/dev/null 2>&1; then
  python3 -m pip uninstall -y -q "$wrong"
  # the survivor's files may have been among those just deleted: reinstall it, if it is there
  right=$([ "$wrong" = onnxruntime ] && echo onnxruntime-gpu || echo onnxruntime)
  if python3 -m pip show -q "$right" >/dev/null 2>&1; then
    python3 -m pip install -q --force-reinstall --no-deps -r <(grep -E "^$right==" requirements.txt)
  fi
fi

if $dev; then
  python3 -m pip install -q -r requirements-dev.txt
  [ -x examples/setup.sh ] && bash examples/setup.sh
else
  python3 -m pip install -q -r requirements.txt
fi
# Explore's morph studio runs the generator in the browser: onnxruntime-web beside the app (app/morph_web/ort).
# Without node/npm this only says so, and the app draws the morph on the server.
bash scripts/install_web_runtime.sh
