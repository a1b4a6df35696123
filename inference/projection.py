"""Find a latent whose image matches a given image ("projection"), through onnxruntime only.

GAN inversion usually back-propagates a perceptual loss through the generator (StyleGAN2's
projector: GPU, LPIPS). An ONNX file offers no gradients, so this searches instead:

1. draw ``n_start`` seeded latents (for a conditional model: the classes in turn) and score them;
2. refine the best few with an elitist evolution strategy: each round perturbs the elites with
   Gaussian noise (step size shrinking from ``sigma`` to ``sigma_end``), plus children that mix
   two elites, scores them in one batch, and keeps the best;
3. return the best latent found, its image and its distances.

With an encoder beside the model (``NAME.encoder.onnx``, inference/encoder.py; trained by
``python -m training train-encoder``) step 1 starts from its guess E(x) instead: the pool is E(x),
perturbations of it and a few seeded samples, and the refinement takes fewer rounds with smaller
steps. ``init``: "search", "encoder" (an error without a usable encoder) or "auto" (the encoder
when one fits the model, else the search).

The score is a feature distance (a classifier's penultimate layer, e.g. the MNIST evaluator's
``features``: what the image *shows*) plus a pixel distance (where its strokes lie), each divided
by its median over the first draw so neither dominates by scale. Without a feature function it is
pixels alone. The package cannot import ``evaluation`` (evaluation imports inference), so callers
pass the feature function: ``onnx_features(path)`` wraps any evaluator-style ONNX file.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import onnxruntime as ort

from . import hardware
from .encoder import Encoder, encoder_path, find_encoder
from .errors import InferenceError
from .generator import Generator
from .limits import check_model_size
from .images import to_uint8
from .target_image import Target

# float32 [N, C, H, W] in [-1, 1] -> float32 [N, F]
FeatureFn = Callable[[np.ndarray], np.ndarray]

BATCH = 256  # images per generator/feature call: big enough to amortise, small enough for the caches
INITS = ("auto", "search", "encoder")
# per start: the first pool's size, the refinement's rounds and its first step size (bench/projection.py)
SETTINGS = {"search": {"n_start": 256, "rounds": 10, "sigma": 0.5},
            "encoder": {"n_start": 64, "rounds": 5, "sigma": 0.25}}


@dataclass
class Projection:
    z: np.ndarray                   # float32 [latent_dim]: the match
    label: int | None               # its class, for a conditional generator
    image: np.ndarray               # uint8 [H, W, C]: what the generator draws from z
    score: float                    # the objective (lower is closer)
    feature_distance: float | None  # Euclidean distance of the features, None without a feature function
    pixel_distance: float           # root mean square difference in [-1, 1] units
    evaluations: int                # images generated and scored
    seconds: float
    init: str = "search"            # where the search started: "search" (seeded samples) or "encoder"
    note: str = ""                  # why the encoder was or was not used (init "auto")


def onnx_features(path: str | os.PathLike, output: str = "features") -> FeatureFn:
    """A feature function from an ONNX network taking images [N, C, H, W] in [-1, 1] (the evaluators'
    contract: ``exported/evaluators/<dataset>-cnn.onnx``)."""
    path = Path(path)
    if not path.is_file():
        raise InferenceError(f"feature network not found: {path}")
    check_model_size(path)
    ort.set_default_logger_severity(3)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = hardware.usable_cores()
    # between two generator calls the feature network's idle threads would spin on the cores the generator needs
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own types; they never leave the package
        raise InferenceError(f"{path} is not an ONNX network onnxruntime can load ({exc})") from None
    if output not in [o.name for o in session.get_outputs()]:
        raise InferenceError(f"{path} has no output {output!r} (outputs: {', '.join(o.name for o in session.get_outputs())})")
    name = session.get_inputs()[0].name

    def features(images: np.ndarray) -> np.ndarray:
        return np.concatenate([session.run([output], {name: np.ascontiguousarray(images[i:i + BATCH], np.float32)})[0]
                               for i in range(0, len(images), BATCH)]).reshape(len(images), -1)
    return features


def default_feature_file(g: Generator) -> Path | None:
    """The shipped evaluator for the generator's dataset ($GAN_STUDIO_EVALUATORS, else
    exported/evaluators/<dataset>-cnn.onnx), when there is one and it takes this image size."""
    folder = Path(os.environ.get("GAN_STUDIO_EVALUATORS", Path(__file__).resolve().parent.parent / "exported" / "evaluators"))
    path = folder.expanduser() / f"{g.metadata.get('dataset') or ''}-cnn.onnx"
    return path if path.is_file() and tuple(g.image_shape) == (1, 28, 28) else None


def draws_light_on_dark(g: Generator, n: int = 64) -> bool:
    """Whether the generator's images have dark borders (MNIST's digits do): then an upload on a light
    page is inverted before the search (read_target's light_on_dark)."""
    images = g.generate(g.sample_latent(n, seed=0), None if not g.conditional else np.arange(n) % g.num_classes)
    border = np.concatenate([images[:, 0].ravel(), images[:, -1].ravel(), images[:, :, 0].ravel(), images[:, :, -1].ravel()])
    return float(border.mean()) < 64


class _Scorer:
    """Generates images for latents and scores them against the target, in batches."""

    def __init__(self, g: Generator, target: np.ndarray, features: FeatureFn | None, pixel_weight: float):
        self.g, self.features, self.pixel_weight = g, features, float(pixel_weight)
        lo, hi = g.output_range
        self.lo, self.hi = float(lo), float(hi)
        self.target = target.astype(np.float32)                       # [1, C, H, W] in [-1, 1]
        self.target_features = features(self.target)[0] if features else None
        self.feature_scale = self.pixel_scale = 1.0
        self.evaluations = 0

    def _images(self, z: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        out = [self.g.run(z[i:i + BATCH], None if labels is None else labels[i:i + BATCH]) for i in range(0, len(z), BATCH)]
        raw = np.concatenate(out)
        return np.clip((raw - self.lo) * (2.0 / (self.hi - self.lo)) - 1.0, -1.0, 1.0)

    def distances(self, z: np.ndarray, labels: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray]:
        images = self._images(z, labels)
        self.evaluations += len(z)
        pixel = np.sqrt(((images - self.target) ** 2).reshape(len(z), -1).mean(1))
        feature = None
        if self.features is not None:
            feature = np.linalg.norm(self.features(images) - self.target_features, axis=1)
        return feature, pixel

    def calibrate(self, feature: np.ndarray | None, pixel: np.ndarray) -> None:
        self.pixel_scale = max(float(np.median(pixel)), 1e-6)
        if feature is not None:
            self.feature_scale = max(float(np.median(feature)), 1e-6)

    def combine(self, feature: np.ndarray | None, pixel: np.ndarray) -> np.ndarray:
        pix = pixel / self.pixel_scale
        if feature is None:
            return pix
        return feature / self.feature_scale + self.pixel_weight * pix


def choose_start(g: Generator, init: str = "auto", encoder: Encoder | None = None) -> tuple[Encoder | None, str]:
    """The encoder to start from (None: the search) and a note saying why."""
    if init not in INITS:
        raise InferenceError(f"init must be one of {', '.join(INITS)}, got {init!r}")
    if init == "search":
        return None, "started from seeded samples"
    if g.conditional:
        if init == "encoder":
            raise InferenceError(f"{g.path.name} is class-conditional; encoders exist for unconditional models only")
        return None, "started from seeded samples (no encoders for conditional models)"
    if encoder is not None:
        encoder.check_matches(g)
        return encoder, f"started from the encoder {encoder.path.name}"
    if init == "encoder":
        return Encoder.load(encoder_path(g.path), g), f"started from the encoder {encoder_path(g.path).name}"
    found, why = find_encoder(g)
    return found, why if found is not None else f"started from seeded samples ({why})"


def project(g: Generator, target: Target | np.ndarray, *, features: FeatureFn | None = None, seed: int = 0,
            label: int | None = None, init: str = "auto", encoder: Encoder | None = None, n_start: int | None = None,
            rounds: int | None = None, population: int = 96, elites: int = 8, sigma: float | None = None,
            sigma_end: float = 0.04, pixel_weight: float = 0.5) -> Projection:
    """The latent whose image is closest to ``target`` (a Target from read_target, or float32
    [C, H, W] / [1, C, H, W] in [-1, 1]). Deterministic for a seed. ``label``: search one class of a
    conditional generator (default: all of them). ``init``: see the module's doc; n_start, rounds and
    sigma default to SETTINGS of the start used."""
    start = time.perf_counter()
    x = target.as_model_input() if isinstance(target, Target) else np.asarray(target, np.float32)
    if x.ndim == 3:
        x = x[None]
    if x.shape != (1, *g.image_shape):
        raise InferenceError(f"the target must be an image of shape {list(g.image_shape)}, got {list(x.shape[1:])}; "
                             "read it with inference.target_image.read_target to fit it")
    enc, note = choose_start(g, init, encoder)
    defaults = SETTINGS["encoder" if enc else "search"]
    n_start = defaults["n_start"] if n_start is None else n_start
    rounds = defaults["rounds"] if rounds is None else rounds
    sigma = defaults["sigma"] if sigma is None else float(sigma)
    for name, value, lo in (("n_start", n_start, 1), ("rounds", rounds, 0), ("population", population, 1), ("elites", elites, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
            raise InferenceError(f"{name} must be an integer >= {lo}, got {value!r}")
    if g.conditional and label is not None and not 0 <= int(label) < g.num_classes:
        raise InferenceError(f"label {label} out of range: this model has classes 0..{g.num_classes - 1}")
    if not g.conditional and label is not None:
        raise InferenceError(f"{g.path.name} is unconditional: it takes no label")
    rng = np.random.default_rng([int(seed), 0x9E0])
    bound = g.metadata.get("latent_bound")
    clip = 3.0 if bound is None else float(bound)
    scorer = _Scorer(g, x, features, pixel_weight)

    labels = None
    if enc is not None:
        # E(x), perturbations of it, and seeded samples (the scale of a typical distance, and a way out of a bad guess)
        guess = np.clip(enc.encode(x), -clip, clip)
        near = (n_start - 1) // 2
        far = n_start - 1 - near
        around = guess + sigma * rng.standard_normal((near, g.latent_dim)).astype(np.float32)
        z = np.concatenate([guess, np.clip(around, -clip, clip), g.sample_latent(far, seed=int(seed)) if far else guess[:0]])
        z = z.astype(np.float32)
        feat, pix = scorer.distances(z, labels)
        scorer.calibrate(*((feat, pix) if not far else (None if feat is None else feat[-far:], pix[-far:])))
    else:
        z = g.sample_latent(n_start, seed=int(seed))
        if g.conditional:
            labels = np.full(n_start, int(label), np.int64) if label is not None else np.arange(n_start, dtype=np.int64) % g.num_classes
        feat, pix = scorer.distances(z, labels)
        scorer.calibrate(feat, pix)
    score = scorer.combine(feat, pix)

    keep = np.argsort(score, kind="stable")[:elites]
    ez, el, es = z[keep], None if labels is None else labels[keep], score[keep]
    ef, ep = (None if feat is None else feat[keep]), pix[keep]
    for r in range(rounds):
        step = sigma * (sigma_end / sigma) ** (r / max(rounds - 1, 1))
        parent = rng.integers(0, len(ez), population)
        children = ez[parent] + step * rng.standard_normal((population, g.latent_dim)).astype(np.float32)
        mixed = population // 4  # a quarter mix two elites (same class), then perturb: jumps between basins
        if mixed and len(ez) > 1:
            other = rng.integers(0, len(ez), mixed)
            if el is not None:
                other = np.where(el[other] == el[parent[:mixed]], other, parent[:mixed])
            w = rng.uniform(0.2, 0.8, (mixed, 1)).astype(np.float32)
            children[:mixed] = w * ez[parent[:mixed]] + (1 - w) * ez[other] \
                + step * rng.standard_normal((mixed, g.latent_dim)).astype(np.float32)
        children = np.clip(children, -clip, clip).astype(np.float32)
        cl = None if el is None else el[parent]
        cf, cp = scorer.distances(children, cl)
        cs = scorer.combine(cf, cp)
        pool_s = np.concatenate([es, cs])
        best = np.argsort(pool_s, kind="stable")[:elites]
        ez = np.concatenate([ez, children])[best]
        el = None if el is None else np.concatenate([el, cl])[best]
        ef = None if ef is None else np.concatenate([ef, cf])[best]
        ep, es = np.concatenate([ep, cp])[best], pool_s[best]

    lab = None if el is None else int(el[0])
    image = to_uint8(g.run(ez[:1], None if el is None else el[:1]), g.output_range)[0]
    return Projection(z=ez[0].astype(np.float32), label=lab, image=image, score=float(es[0]),
                      feature_distance=None if ef is None else float(ef[0]), pixel_distance=float(ep[0]),
                      evaluations=scorer.evaluations, seconds=time.perf_counter() - start,
                      init="encoder" if enc is not None else "search", note=note)
