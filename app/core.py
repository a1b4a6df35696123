"""The app's logic without Streamlit: models, images, latent directions, training processes.

Torch-free: it imports only inference/ (numpy + onnxruntime) and the torch-free parts of
training/ (runs, config). Training itself happens in separate `python -m training` processes,
which the app learns about only from their run folders, so a run outlives the app.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from inference import Generator, InferenceError, image_grid, to_pil, upscale
from inference.latents import lerp, slerp
from training.runs import ACTIVE_STATES, RunError, RunFolder, list_runs, process_alive, sanitize_name

REPO = Path(__file__).resolve().parents[1]


# --- where things live (read at call time, so tests can point them at temporary folders) ---

def runs_dir() -> Path:
    return Path(os.environ.get("GAN_STUDIO_RUNS", "runs")).absolute()


def models_dir() -> Path:
    return Path(os.environ.get("GAN_STUDIO_MODELS", REPO / "exported")).absolute()


# --- models ---

@dataclass(frozen=True)
class ModelEntry:
    path: Path
    label: str     # what the picker shows
    source: str    # "exported" or "run"

    @property
    def card_path(self) -> Path:
        return self.path.with_suffix(".json")

    def card(self) -> dict[str, Any]:
        try:
            return json.loads(self.card_path.read_text())
        except (OSError, ValueError):
            return {}


def find_models() -> list[ModelEntry]:
    """Shipped/uploaded models in the models folder, then generators exported by runs (newest first)."""
    entries = []
    folder = models_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.onnx")):
            if not path.name.endswith(".fp16.onnx"):  # the web copy of a model already listed
                entries.append(ModelEntry(path, path.stem, "exported"))
    runs = [r for r in list_runs(runs_dir()) if r.onnx_path.is_file()]
    for run in sorted(runs, key=lambda r: r.onnx_path.stat().st_mtime, reverse=True):
        entries.append(ModelEntry(run.onnx_path, f"run: {run.id}", "run"))
    return entries


def file_key(path: Path) -> tuple[str, int, int]:
    """What identifies a file's content for caches: a rewritten file gets a new key."""
    st = Path(path).stat()
    return str(Path(path).resolve()), st.st_mtime_ns, st.st_size


def latent(g: Generator, seed: int, index: int = 0) -> np.ndarray:
    """Latent number ``index`` of the grid drawn with ``seed`` (the first rows of a bigger draw
    equal a smaller draw, so one (seed, index) names one image whatever the grid size)."""
    return g.sample_latent(index + 1, seed=int(seed))[index]


def labels_for(g: Generator, n: int, label: int | None) -> np.ndarray | None:
    """None for an unconditional model; a fixed class, or (label None) classes in turn."""
    if not g.conditional:
        return None
    if label is None:
        return np.arange(n, dtype=np.int64) % g.num_classes
    return np.full(n, int(label), np.int64)


def path_point(keys: np.ndarray, t: float, method: str) -> np.ndarray:
    """The latent at position t in [0, 1] along the path through K >= 2 key latents."""
    segments = len(keys) - 1
    pos = min(max(float(t), 0.0), 1.0) * segments
    i = min(int(pos), segments - 1)
    fn = slerp if method == "slerp" else lerp
    return fn(keys[i], keys[i + 1], np.array([pos - i]))[0].astype(np.float32)


def clip_to_bound(g: Generator, z: np.ndarray) -> np.ndarray:
    bound = g.metadata.get("latent_bound")
    return z if bound is None else np.clip(z, -bound, bound).astype(np.float32)


def png_bytes(image: np.ndarray, size: int = 0) -> bytes:
    """One uint8 image [H, W, C] as PNG, enlarged with crisp pixels to about ``size`` pixels."""
    if size:
        image = upscale(image, max(1, size // max(image.shape[:2])))
    buf = io.BytesIO()
    # compress_level 1: several times faster than the default and these images are tiny anyway
    to_pil(image).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def gif_bytes(frames: np.ndarray, size: int = 0, duration_ms: int = 80) -> bytes:
    """Frames [M, H, W, C] as a looping GIF that plays forward then back."""
    if size:
        frames = upscale(frames, max(1, size // max(frames.shape[1:3])))
    if len(frames) > 2:
        frames = np.concatenate([frames, frames[-2:0:-1]])
    images = [to_pil(f) for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
    return buf.getvalue()


def frame(g: Generator, keys: np.ndarray, t: float, method: str, label: int | None,
          offset: np.ndarray | None = None) -> np.ndarray:
    """The one image the morph slider shows: a point on the key path, moved along directions."""
    z = path_point(keys, t, method)
    if offset is not None:
        z = z + offset
    z = clip_to_bound(g, z)
    return g.generate(z[None], labels_for(g, 1, label))[0]


def frame_png(g: Generator, keys: np.ndarray, t: float, method: str, label: int | None,
              offset: np.ndarray | None = None, size: int = 256) -> bytes:
    """What one slider update costs on the server (bench/app_update.py times exactly this)."""
    return png_bytes(frame(g, keys, t, method, label, offset), size)


def directions(g: Generator, k: int = 5, n: int = 512, seed: int = 1234) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GANSpace-style latent directions: principal components of the images, regressed onto z.

    GANSpace finds PCA directions in a generator's early features and, where the latent does not
    map linearly to them, regresses the PCA coordinates back onto z. The ONNX file shows us only
    the output, so we do the same on the images: sample n latents, PCA of the generated images,
    then least squares from z to each component's score. Each direction is a unit vector in z
    that moves the image along one of its main modes of variation.

    Returns (directions [k, D], their spread in z (std of z along each) [k], the share of image
    variance each component explains [k]). Cheap: one batch and two small SVD-sized solves.
    """
    z = g.sample_latent(n, seed=seed)
    labels = None
    if g.conditional:
        labels = np.random.default_rng(seed).integers(0, g.num_classes, n)
    x = g.run(z, labels).reshape(n, -1).astype(np.float64)
    x -= x.mean(0)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    k = min(k, len(s), g.latent_dim)
    scores = x @ vt[:k].T                          # [n, k] image-space coordinates
    zc = z.astype(np.float64) - z.mean(0)
    coef, *_ = np.linalg.lstsq(zc, scores, rcond=None)  # [D, k]: z -> score
    dirs = (coef / np.maximum(np.linalg.norm(coef, axis=0), 1e-12)).T
    spread = (zc @ dirs.T).std(0)
    explained = (s[:k] ** 2) / max(float((s ** 2).sum()), 1e-12)
    return dirs.astype(np.float32), spread.astype(np.float32), explained


def grid(g: Generator, seed: int, n: int, truncation: float, label: int | None) -> np.ndarray:
    z = g.sample_latent(n, seed=int(seed), truncation=truncation)
    return g.generate(z, labels_for(g, n, label))


def check_upload(data: bytes, filename: str) -> tuple[Path, Generator]:
    """Validate uploaded bytes as a GAN Studio generator (in a temporary file) and, only if they
    are one, save them into the models folder under a safe, unused name. Raises InferenceError."""
    import tempfile

    if not filename.lower().endswith(".onnx"):
        raise InferenceError(f"{filename}: only .onnx files can be uploaded")
    with tempfile.TemporaryDirectory(prefix="gan-studio-upload-") as tmp:
        candidate = Path(tmp) / "upload.onnx"
        candidate.write_bytes(data)
        Generator.load(candidate, device="cpu")  # raises InferenceError for anything but a generator
        folder = models_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stem = sanitize_name(Path(filename).stem)
        target = folder / f"{stem}.onnx"
        i = 2
        while target.exists() or target.with_suffix(".json").exists():
            target = folder / f"{stem}-{i}.onnx"
            i += 1
        shutil.move(str(candidate), target)
    return target, Generator.load(target, device="cpu")


def publish(run: RunFolder, name: str) -> Path:
    """Copy a run's exported generator and card into the models folder as ``name``."""
    if not run.onnx_path.is_file():
        raise RunError(f"run {run.id} has no exported generator yet: export it first.")
    folder = models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{sanitize_name(name)}.onnx"
    shutil.copyfile(run.onnx_path, target)
    if run.card_path.is_file():
        shutil.copyfile(run.card_path, target.with_suffix(".json"))
    return target


# --- training processes ---

# Popen objects of processes this app started: polled now and then so finished children are
# reaped (a zombie would otherwise linger until the app exits). Runs never depend on this.
_CHILDREN: list[subprocess.Popen] = []


def reap() -> None:
    _CHILDREN[:] = [p for p in _CHILDREN if p.poll() is None]


def _launch_log(tag: str) -> Path:
    folder = runs_dir() / ".launch"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{tag}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{len(_CHILDREN)}.log"


def _popen(argv: list[str], log_path: Path) -> subprocess.Popen:
    """A training process in its own session (so Stop can signal its whole group, and it
    survives the app); list argv, never a shell; output appended to ``log_path``."""
    reap()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env)
    _CHILDREN.append(proc)
    return proc


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def override_value(value) -> str:
    """A value as `--set key=VALUE` reads it (YAML): floats keep a dot, so 1e-05 stays a number
    (PyYAML reads "1e-05" as text) and the command shown can be pasted into a shell."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, float):
        text = repr(value)
        mantissa, _, exponent = text.partition("e")
        if exponent and "." not in mantissa:
            text = f"{mantissa}.0e{exponent}"
        return text
    return str(value)


def train_argv(preset: str, name: str, overrides: list[str]) -> list[str]:
    argv = [sys.executable, "-m", "training", "train", "--preset", preset, "--name", name,
            "--runs-dir", str(runs_dir())]
    for text in overrides:
        argv += ["--set", text]
    return argv


class LaunchError(Exception):
    """The training process ended before it made its run folder; the message has its output."""


def start_training(preset: str, name: str, overrides: list[str], wait_s: float = 180.0) -> RunFolder:
    """Start `python -m training train` and return its run folder once it exists.

    The CLI checks the config and loads the data before it makes the folder, and prints
    `run folder: PATH` right after. Until then its output goes to a launch log in the runs
    folder; afterwards the trainer also logs to the run's log.txt itself. A process that exits
    first (no data offline, a bad config) raises LaunchError with the tail of its output.
    """
    log_path = _launch_log(sanitize_name(name))
    proc = _popen(train_argv(preset, name, overrides), log_path)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        match = re.search(r"^run folder: (.+)$", log_path.read_text(errors="replace"), re.M)
        if match:
            run = RunFolder(Path(match.group(1).strip()))
            # remember which launch log holds the process's own output (tracebacks included)
            try:
                (run.path / "launch-log.txt").write_text(str(log_path) + "\n")
            except OSError:
                pass
            return run
        if proc.poll() is not None:
            raise LaunchError(_explain_exit(tail(log_path, 15)))
        time.sleep(0.2)
    raise LaunchError(f"the training process (pid {proc.pid}) made no run folder within {wait_s:.0f} s; "
                      f"its output so far:\n{tail(log_path, 15)}")


def _explain_exit(output: str) -> str:
    lines = [l for l in output.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("error:")]
    return (errors[-1][len("error:"):].strip() if errors else "the training process ended at once") + \
        ("\n\n" + "\n".join(lines[-15:]) if not errors else "")


def resume_training(run: RunFolder) -> subprocess.Popen:
    status = run.live_status()
    if status.get("state") in ACTIVE_STATES:
        raise RunError(f"run {run.id} is still {status['state']}; stop it first.")
    log_path = _launch_log(run.id)
    try:
        (run.path / "launch-log.txt").write_text(str(log_path) + "\n")
    except OSError:
        pass
    return _popen([sys.executable, "-m", "training", "resume", run.id, "--runs-dir", str(run.path.parent)], log_path)


def _is_training_process(pid: int) -> bool:
    """Guards against signalling a recycled pid that now belongs to something else."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"training" in cmdline


def stop_training(run: RunFolder) -> bool:
    """Ask a run to stop gracefully: SIGTERM to its process group (the trainer finishes the step,
    writes a checkpoint and the state 'stopped'). False when there was nothing to stop."""
    pid = run.read_status().get("pid")
    if not pid or not process_alive(pid) or not _is_training_process(pid):
        return False
    try:
        group = os.getpgid(pid)
        # The app starts each run in its own session, so its group is the run (with any worker
        # processes). A run started from a shell script may share the script's group: signal
        # the group only when its leader is itself a training process, else just the trainer.
        if group == pid or _is_training_process(group) or _is_torchrun(group):
            os.killpg(group, signal.SIGTERM)
        else:
            os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


def _is_torchrun(pid: int) -> bool:
    try:
        return b"torchrun" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def export_run(run: RunFolder, timeout: float = 600) -> Path:
    """Run `python -m training export` and wait for it (about ten seconds for a small model)."""
    argv = [sys.executable, "-m", "training", "export", run.id, "--runs-dir", str(run.path.parent)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        lines = [l for l in done.stderr.splitlines() if l.strip()]
        errors = [l for l in lines if l.startswith("error:")]
        raise RunError(errors[-1][len("error:"):].strip() if errors else "export failed:\n" + "\n".join(lines[-10:]))
    return run.onnx_path


def delete_run(run: RunFolder) -> None:
    """Delete a run folder, but only a real run folder directly inside the runs folder."""
    root = runs_dir().resolve()
    path = run.path
    if path.is_symlink() or path.resolve().parent != root or not (path / "config.json").is_file():
        raise RunError(f"refusing to delete {path}: it is not a run folder inside {root}.")
    if run.live_status().get("state") in ACTIVE_STATES:
        raise RunError(f"run {run.id} is still going; stop it before deleting it.")
    shutil.rmtree(path)


# --- reading runs ---

def run_log(run: RunFolder, lines: int = 25) -> str:
    """The run's log.txt tail, plus the launcher's output when it has more (e.g. a traceback)."""
    text = tail(run.log_path, lines)
    try:
        launch = Path((run.path / "launch-log.txt").read_text().strip())
        extra = tail(launch, lines)
        if extra and extra.splitlines()[-1] not in text:
            text = (text + "\n--- process output ---\n" + extra).strip()
    except OSError:
        pass
    return text


def run_summary(run: RunFolder) -> dict[str, Any]:
    """One row of the Runs table."""
    status = run.live_status()
    try:
        config = run.read_config()
    except RunError:
        config = {}
    rows = run.read_metrics()
    elapsed = rows[-1].get("time") if rows else None
    fids = [r["fid"] for r in rows if isinstance(r.get("fid"), (int, float))]
    return {
        "run": run.id,
        "state": status.get("state", "?"),
        "preset": config.get("preset", "?"),
        "dataset": config.get("dataset", "?"),
        "model": config.get("model", "?"),
        "loss": config.get("loss", "?"),
        "step": status.get("step", 0),
        "steps": status.get("total_steps") or config.get("steps"),
        "time_min": round(elapsed / 60, 1) if isinstance(elapsed, (int, float)) else None,
        "best_fid": round(min(fids), 2) if fids else None,
        "exported": run.onnx_path.is_file(),
        "updated": status.get("updated", ""),
    }


def eta_text(status: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    eta = status.get("eta_s")
    if eta is None and rows and status.get("total_steps"):
        last = rows[-1]
        if last.get("time") and last.get("step"):
            eta = (status["total_steps"] - last["step"]) * last["time"] / last["step"]
    if eta is None:
        return ""
    eta = int(eta)
    return f"about {eta // 3600}h {eta % 3600 // 60}m left" if eta >= 3600 else \
        f"about {eta // 60}m {eta % 60}s left" if eta >= 60 else f"about {eta}s left"
