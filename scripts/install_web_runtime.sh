#!/usr/bin/env bash
# Puts onnxruntime-web (the version examples/web/package-lock.json pins) beside the app, in
# app/morph_web/ort/, so Explore's morph studio runs the generator in the browser from files this
# machine serves. npm ci runs in examples/web when its node_modules is missing or stale (only the npm
# registry is used); then the three runtime files are copied (Streamlit serves a component's files
# only from inside its folder, symlinks resolved). Idempotent. Without node/npm it says so and
# exits 0: the app then draws the morph on the server.
#   usage: scripts/install_web_runtime.sh
set -euo pipefail
cd "$(dirname "$0")/.."

web=examples/web
dest=app/morph_web/ort
files=(ort.wasm.min.mjs ort-wasm-simd-threaded.mjs ort-wasm-simd-threaded.wasm)
stamp="$web/node_modules/.gan-studio-lock.sha256"
want="$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)"

if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "install_web_runtime.sh: no npm here (apt-get install nodejs npm); the app will draw the morph on the server" >&2
    exit 0
  fi
  echo "$web: npm ci"
  (cd "$web" && npm ci --prefer-offline --no-audit --no-fund)
  echo "$want" > "$stamp"
fi
mkdir -p "$dest"
for f in "${files[@]}"; do
  src="$web/node_modules/onnxruntime-web/dist/$f"
  [[ -f "$src" ]] || { echo "install_web_runtime.sh: $src is missing (is onnxruntime-web installed?)" >&2; exit 1; }
  if ! cmp -s "$src" "$dest/$f"; then
    cp "$src" "$dest/$f.tmp"
    mv -f "$dest/$f.tmp" "$dest/$f"
  fi
done
echo "app/morph_web/ort: onnxruntime-web $(node -p "require('./$web/node_modules/onnxruntime-web/package.json').version" 2>/dev/null || echo '?') ready"
