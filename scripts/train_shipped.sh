#!/usr/bin/env bash
# Trains the generators shipped in exported/ with the project's own command, one after another,
# then exports each. Run it again after an interruption: a run that exists is resumed (or extended
# to a larger step count), a finished one is skipped. Needs MNIST ($GAN_STUDIO_DATA) and
# Fashion-MNIST (Debian's dataset-fashion-mnist).
set -uo pipefail
cd "$(dirname "$0")/.."
export GAN_STUDIO_DATA="${GAN_STUDIO_DATA:-$(realpath ../shared/data)}"
log=${SHIP_LOG:-runs/shipped.log}
mkdir -p runs

train() {  # NAME PRESET STEPS [--set k=v ...]
  local name=$1 preset=$2 steps=$3; shift 3
  local dir; dir=$(ls -d "runs/$name"-* 2>/dev/null | head -1)
  if [ -z "$dir" ]; then
    python -m training train --preset "$preset" --name "$name" --set steps="$steps" \
      --set checkpoint_every=250 --set sample_every=500 --set eval_every=1000 "$@" >> "$log" 2>&1
  elif ! grep -q "\"step\": $steps," "$dir/status.json"; then
    python -m training resume "$dir" --set steps="$steps" --set eval_every=1000 "$@" >> "$log" 2>&1
  fi
}

export_as() {  # NAME OUT [evaluate options]: the last checkpoint, then its scores on the card
  local dir; dir=$(ls -d "runs/$1"-* 2>/dev/null | head -1)
  [ -n "$dir" ] && grep -q '"state": "finished"' "$dir/status.json" || return 0
  local out=$2; shift 2
  # No output option replaces a shipped file (exported/SHIPPED.txt), --force or not: the old one goes
  # first (git keeps it), with the files that described it.
  rm -f "exported/$out".{onnx,json,eval.json,fp16.onnx,encoder.onnx,md,generator.safetensors,discriminator.safetensors}
  python -m training export "$dir" --out "exported/$out.onnx" >> "$log" 2>&1 &&
    python -m training evaluate "exported/$out.onnx" --update-card "$@" >> "$log" 2>&1
}

# The two DCGANs take the settings the search found (docs/sweeps.md: study dcgan-mnist-stage2,
# trial 0) as presets of their own, at batch 32, one thread each (OMP_NUM_THREADS=1): MNIST 140,000
# steps (at 70,000 its Inception FID was 7.30, the goal 6.7), Fashion-MNIST 70,000.
OMP_NUM_THREADS=1 train shipped-dcgan-mnist-tuned dcgan-mnist-tuned 140000
OMP_NUM_THREADS=1 train shipped-dcgan-fashion-mnist-tuned dcgan-fashion-mnist-tuned 70000
train shipped-wgan-gp-mnist wgan-gp-mnist 15000 --set ema=true --set ema_start=1000
# The conditional one takes the search's settings too (140,000 steps, two threads; docs/sweeps.md).
OMP_NUM_THREADS=2 train shipped-cgan-mnist-tuned cgan-mnist-tuned 140000 --set eval_every=2000
# Digits learned without labels, conditioned on 10 clusters the trainer finds in them (docs/results.md); the
# shipped mnist-clusters is run clu-w32-20261208-000459: `--preset dcgan-mnist-clusters --set eval_every=0`, one thread.
OMP_NUM_THREADS=1 train shipped-dcgan-mnist-clusters dcgan-mnist-clusters 84000 --set eval_every=0
# The shipped stacked-mnist-pacgan came from run stacked-g2-20261126-014830, trained with these very
# settings (as --set overrides, before they became the preset); its card names that run.
train shipped-pacgan-stacked-mnist pacgan-stacked-mnist 20000
# The colour recipe on the emoji folder, over black as the folder's README measures its reference FID.
# The shipped emoji-dcgan is run emoji-dcgan32-ada-20261207-140006: these very settings (as --set
# overrides of dcgan-folder, before they became the preset), one thread for its first CPU-hour beside
# the side-by-side's other runs, then two threads for a second CPU-hour (docs/results.md).
# What the run reads is fixed when it starts (a resume refuses to change it), so it is set only then.
EMOJI=$(realpath ../shared/data/emoji-google)
[ -n "$(ls -d runs/shipped-dcgan-ada-emoji-* 2>/dev/null)" ] || OMP_NUM_THREADS=2 python -m training train \
  --preset dcgan-ada-folder-64 --name shipped-dcgan-ada-emoji --data-root "$EMOJI" --set 'background=#000000' \
  --set steps=1 --set eval_every=0 >> "$log" 2>&1
OMP_NUM_THREADS=2 train shipped-dcgan-ada-emoji dcgan-ada-folder-64 21631 --set eval_every=0
export_as shipped-dcgan-mnist-tuned mnist-dcgan --inception
export_as shipped-dcgan-fashion-mnist-tuned fashion-mnist-dcgan --inception
export_as shipped-wgan-gp-mnist mnist-wgan-gp
export_as shipped-cgan-mnist-tuned mnist-cgan --inception
export_as shipped-dcgan-mnist-clusters mnist-clusters --inception
export_as shipped-pacgan-stacked-mnist stacked-mnist-pacgan --n 26000 --kid-subsets 20  # PacGAN's protocol
export_as shipped-dcgan-ada-emoji emoji-dcgan --n 3786 --data-root "$EMOJI"  # as many samples as the folder has images
# Projection (Explore's Upload and Draw) starts from an encoder trained on the generator's own samples.
[ -f exported/mnist-dcgan.encoder.onnx ] || python -m training train-encoder exported/mnist-dcgan.onnx --steps 10000 >> "$log" 2>&1
