#!/usr/bin/env bash
# Install the npm dependencies of the examples (examples/web: onnxruntime-web; examples/node:
# onnxruntime-node) exactly as their package-lock.json files pin them. Offline-friendly: only the
# npm registry is used (onnxruntime-node's optional CUDA download is skipped; its CPU binding
# ships in the package) and npm's cache is preferred. Idempotent: a folder whose node_modules
# was installed from the same lockfile is left alone; --force reinstalls.
#   usage: examples/setup.sh [--force]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
force=0
[[ "${1:-}" == "--force" ]] && force=1

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "examples/setup.sh: node and npm are needed (Node.js 18 or newer, e.g. apt-get install nodejs npm)" >&2
  exit 1
fi

# onnxruntime-node's postinstall would fetch CUDA binaries from a NuGet feed; "skip" keeps the
# install on the npm registry. (npm 11 blocks dependency install scripts by default anyway; older
# npm runs them.) The env variable works with every npm; examples/node/.npmrc says the same for
# a plain "npm ci" run by hand.
export ONNXRUNTIME_NODE_INSTALL=skip

for dir in web node; do
  cd "$here/$dir"
  stamp="node_modules/.gan-studio-lock.sha256"
  want="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [[ $force == 0 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "examples/$dir: node_modules up to date"
    continue
  fi
  echo "examples/$dir: npm ci"
  npm ci --prefer-offline --no-audit --no-fund
  echo "$want" > "$stamp"
done
