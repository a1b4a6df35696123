"""Load a GAN Studio ONNX generator and run it (numpy + onnxruntime only, never torch)."""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from . import contract, hardware, latents
from studio.files import MiB, FileRefused, read_json

from .errors import InferenceError
from .images import to_uint8
from .limits import check_bytes, check_model_size

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
DEVICES = ("auto", "cpu", "cuda")
CARD_LIMIT = 16 * MiB  # a card with SeFa directions is tens of KB


def _ort_message(exc: BaseException) -> str:
    """onnxruntime's message without its '[ONNXRuntimeError] : 7 : INVALID_PROTOBUF : ' prefix."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if text.startswith("[ONNXRuntimeError]"):
        text = text.split(" : ", 3)[-1]
    return text


def _session_options() -> ort.SessionOptions:
    # Tuned for latency of one small batch: full graph fusion, all cores on each operator,
    # one operator at a time (GAN generators are a chain; parallel branches don't exist).
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.intra_op_num_threads = hardware.usable_cores()  # a container's limit, not every core of the host
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return opts


def _providers_for(device: str) -> tuple[list[str], str]:
    """The providers to ask for, and a note when the answer is already "CPU"."""
    if device not in DEVICES:
        raise InferenceError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    if device == "cpu":
        return [CPU], ""
    if CUDA in ort.get_available_providers():
        return [CUDA, CPU], ""
    if device == "cuda":
        return [CPU], ("CUDA requested but this onnxruntime has no CUDAExecutionProvider "
                       "(install onnxruntime-gpu); using CPU")
    return [CPU], ""


def _cuda_driver_problem() -> str:
    """Why the NVIDIA driver cannot run CUDA here ("" when it can): onnxruntime only logs its reason."""
    try:
        cuda = ctypes.CDLL("nvcuda.dll" if os.name == "nt" else "libcuda.so.1")
    except OSError:
        return "no NVIDIA driver: libcuda not found"
    count = ctypes.c_int(0)
    status = cuda.cuInit(0) or cuda.cuDeviceGetCount(ctypes.byref(count))
    if status or count.value < 1:
        return f"the NVIDIA driver sees no GPU (CUDA error {status})"
    return ""


def _preload_cuda_libraries() -> None:
    # onnxruntime-gpu finds the CUDA runtime, cuBLAS and cuDNN of the nvidia-* wheels (torch's) only once
    # they are loaded, and torch never is here; preload_dlls prints what it misses, kept off stdout.
    if hasattr(ort, "preload_dlls"):
        with contextlib.redirect_stdout(io.StringIO()):
            ort.preload_dlls()


def _create_session(path: Path, providers: list[str]) -> tuple[ort.InferenceSession, str]:
    """Open the session; if CUDA was asked for but does not work, end up on the CPU and say why.

    onnxruntime-gpu lists CUDA even without a working GPU: the session then either raises or
    quietly runs on the CPU (warning, or an error logged to stderr); both cases land here.
    """
    opts = _session_options()
    if providers[0] == CUDA:
        _preload_cuda_libraries()
        opts.log_severity_level = 4  # its "failed to load the CUDA provider" error: we say why ourselves
        ort.set_default_logger_severity(4)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # capture the "provider not available" warning
            session = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    except Exception as exc:  # onnxruntime's exceptions share no base class but Exception
        if providers == [CPU]:
            raise _load_error(path, exc) from None
        try:
            session = ort.InferenceSession(str(path), sess_options=opts, providers=[CPU])
        except Exception as exc2:
            raise _load_error(path, exc2) from None
        return session, f"CUDA listed but unusable ({_ort_message(exc)}); using CPU"
    finally:
        ort.set_default_logger_severity(3)
    if providers[0] == CUDA and session.get_providers()[0] != CUDA:
        why = next((str(w.message) for w in caught if "CUDA" in str(w.message)), None)
        why = why or _cuda_driver_problem() or "onnxruntime could not start it"
        return session, f"CUDA listed but unusable ({why}); using CPU"
    return session, ""


def _load_error(path: Path, exc: BaseException) -> InferenceError:
    # Drop onnxruntime's "Load model from <path> failed:" since our message names the path.
    why = re.sub(r"^Load model from .* failed:\s*", "", _ort_message(exc))
    return InferenceError(f"{path}: not a valid ONNX file, or one onnxruntime cannot load ({why})")


def _describe(args) -> str:
    return ", ".join(f"{a.name!r} {a.type} {a.shape}" for a in args) or "none"


def _check_graph(session: ort.InferenceSession, path: Path) -> dict[str, Any]:
    """Check the graph's inputs and outputs against the contract; return their static sizes."""
    inputs = {a.name: a for a in session.get_inputs()}
    outputs = {a.name: a for a in session.get_outputs()}
    found = f"inputs {_describe(inputs.values())}; outputs {_describe(outputs.values())}"

    def fail(why: str) -> InferenceError:
        return InferenceError(f"{path} is not a GAN Studio generator: {why}. Found {found}; "
                              f"{contract.CONTRACT_SUMMARY}")

    z = inputs.get(contract.INPUT_LATENT)
    label = inputs.get(contract.INPUT_LABEL)
    image = outputs.get(contract.OUTPUT_IMAGE)
    extra = sorted(set(inputs) - {contract.INPUT_LATENT, contract.INPUT_LABEL})
    if z is None or extra:
        raise fail(f"expected input {contract.INPUT_LATENT!r}" if z is None
                   else f"unexpected input(s) {', '.join(map(repr, extra))}")
    if z.type != "tensor(float)" or len(z.shape) != 2:
        raise fail("'z' must be float32 [batch, latent_dim]")
    if isinstance(z.shape[0], int):
        raise fail(f"the batch axis of 'z' is fixed at {z.shape[0]}; it must be dynamic")
    if label is not None and (label.type != "tensor(int64)" or len(label.shape) != 1):
        raise fail("'label' must be int64 [batch]")
    if image is None:
        raise fail(f"expected output {contract.OUTPUT_IMAGE!r}")
    if image.type != "tensor(float)" or len(image.shape) != 4:
        raise fail("'image' must be float32 [batch, C, H, W]")
    static = lambda d: d if isinstance(d, int) else None  # noqa: E731 - symbolic dims are None
    return {"latent_dim": static(z.shape[1]), "conditional": label is not None,
            "image_shape": tuple(static(d) for d in image.shape[1:])}


def _read_metadata(session: ort.InferenceSession, path: Path) -> tuple[dict[str, Any], str]:
    """Metadata from the file's metadata_props, else from the model card beside it."""
    try:
        props = dict(session.get_modelmeta().custom_metadata_map)
    except Exception as exc:
        raise InferenceError(f"{path}: cannot read its metadata ({_ort_message(exc)})") from None
    if any(k.startswith(contract.PREFIX) for k in props):
        try:
            return contract.metadata_from_props(props), "onnx"
        except InferenceError as exc:
            raise InferenceError(f"{path}: invalid GAN Studio metadata: {exc}") from None
    card = path.with_suffix(".json")
    if not (card.exists() or card.is_symlink()):
        raise InferenceError(f"{path} has no GAN Studio metadata ('{contract.PREFIX}*' "
                             f"metadata_props) and no model card {card.name} beside it")
    try:
        values = read_json(card, limit=CARD_LIMIT)
    except FileRefused as exc:
        raise InferenceError(f"cannot read the model card: {exc}") from None
    except (OSError, ValueError) as exc:
        raise InferenceError(f"{card}: cannot read the model card ({exc})") from None
    try:
        return contract.metadata_from_card(values), str(card)
    except InferenceError as exc:
        raise InferenceError(f"{card}: invalid model card: {exc}") from None


class Generator:
    """A loaded GAN Studio generator. Create it with Generator.load(path)."""

    def __init__(self, session: ort.InferenceSession, metadata: dict[str, Any], path: Path,
                 provider_note: str = "", metadata_source: str = "onnx"):
        self._session = session
        self.metadata = metadata
        self.path = path
        self.provider = session.get_providers()[0]
        self.provider_note = provider_note  # why we are not on the GPU, "" when nothing to say
        self.metadata_source = metadata_source  # "onnx", or the model card's path

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "auto") -> "Generator":
        """Open a generator file. device: "auto" (CUDA if it really works), "cpu" or "cuda"."""
        path = Path(path)
        if not path.exists():
            raise InferenceError(f"model file not found: {path}")
        if not path.is_file():
            raise InferenceError(f"not a file: {path}")
        check_model_size(path)
        ort.set_default_logger_severity(3)  # keep onnxruntime's C++ warnings off stderr
        providers, note = _providers_for(device)
        session, fallback = _create_session(path, providers)
        graph = _check_graph(session, path)
        meta, source = _read_metadata(session, path)

        def mismatch(what: str, meta_value, graph_value) -> InferenceError:
            return InferenceError(f"{path}: metadata says {what} {meta_value} but the graph "
                                  f"has {graph_value}")
        if graph["latent_dim"] not in (None, meta["latent_dim"]):
            raise mismatch("latent_dim", meta["latent_dim"], graph["latent_dim"])
        if graph["conditional"] != (meta["num_classes"] > 0):
            raise mismatch("num_classes", meta["num_classes"],
                           "a 'label' input" if graph["conditional"] else "no 'label' input")
        if any(g not in (None, m) for g, m in zip(graph["image_shape"], meta["image_shape"])):
            raise mismatch("image_shape", meta["image_shape"], graph["image_shape"])
        return cls(session, meta, path, fallback or note, source)

    # --- what the metadata says ---

    @property
    def latent_dim(self) -> int:
        return self.metadata["latent_dim"]

    @property
    def num_classes(self) -> int:
        return self.metadata["num_classes"]

    @property
    def conditional(self) -> bool:
        return self.metadata["num_classes"] > 0

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.metadata["image_shape"]

    @property
    def output_range(self) -> tuple[float, float]:
        return self.metadata["output_range"]

    @property
    def class_prior(self) -> list[float]:
        """Each class's share when the model draws its own (trained with ``clusters``); [] otherwise."""
        return self.metadata["class_prior"]

    @property
    def class_names(self) -> list[str]:
        return self.metadata["class_names"]

    def class_index(self, label: int | str) -> int:
        """A class by number or by name ("dogs"): its number; InferenceError naming the classes."""
        if self.num_classes == 0:
            raise InferenceError(f"{self.path.name} is unconditional: it takes no labels")
        if isinstance(label, str) and label in self.class_names:
            return self.class_names.index(label)
        if isinstance(label, (int, np.integer)) and not isinstance(label, bool) and 0 <= label < self.num_classes:
            return int(label)
        if isinstance(label, str):
            raise InferenceError(f"no class {label!r} in {self.path.name}: its classes are {self.describe_classes()}")
        raise InferenceError(f"label {label} out of range: this model has classes 0..{self.num_classes - 1} "
                             f"({self.describe_classes()})")

    def describe_classes(self, most: int = 12) -> str:
        """"0 cats, 1 dogs" (the first ``most``, then how many more): for messages that list the classes."""
        named = [f"{i} {name}" if name != str(i) else name for i, name in enumerate(self.class_names[:most])]
        more = self.num_classes - most
        return ", ".join(named) + (f" and {more} more" if more > 0 else "")

    def __repr__(self) -> str:
        return (f"Generator({str(self.path)!r}, latent_dim={self.latent_dim}, image_shape={self.image_shape}, "
                f"num_classes={self.num_classes}, provider={self.provider!r})")

    # --- latents ---

    def sample_latent(self, n: int, seed: int | None = None, truncation: float = 1.0) -> np.ndarray:
        """float32 [n, latent_dim] from the model's latent distribution; see latents.sample."""
        meta = self.metadata
        return latents.sample(n, self.latent_dim, seed=seed, distribution=meta["latent_distribution"],
                              bound=meta["latent_bound"], truncation=truncation, scheme=meta["latent_scheme"])

    def sample_labels(self, n: int, seed: int | None = None) -> np.ndarray | None:
        """int64 [n] classes as the model draws them itself (``class_prior``, else uniform); None if unconditional."""
        return latents.sample_labels(n, self.num_classes, self.class_prior, seed) if self.conditional else None

    @property
    def sefa(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The closed-form (SeFa) directions stored with the model: (unit vectors [K, latent_dim],
        share of W^T W's trace each explains [K], largest first), or None for a file without them."""
        found = self.metadata.get("directions")
        return (np.asarray(found["vectors"], np.float32), np.asarray(found["share"], np.float64)) if found else None

    def direction(self, k: int) -> np.ndarray:
        """SeFa direction number k (0 = the one the first layer stretches most), float32 [latent_dim]."""
        found = self.sefa
        if found is None:
            raise InferenceError(f"{self.path.name} has no stored directions (files exported before "
                                 "directions existed have none: export the run again)")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < len(found[0]):
            raise InferenceError(f"direction {k!r} does not exist: {self.path.name} has directions "
                                 f"0..{len(found[0]) - 1}")
        return found[0][int(k)]

    def move_along(self, z, k: int, amount: float) -> np.ndarray:
        """Latents z [N, latent_dim] moved by `amount` along direction k: z + amount * v_k, summed in
        float64, cast to float32 last and clipped to the bound (the examples' moveAlong does the same)."""
        v = self.direction(k).astype(np.float64)
        moved = self._check_latents(z).astype(np.float64) + float(amount) * v
        bound = self.metadata["latent_bound"]
        return (moved if bound is None else np.clip(moved, -bound, bound)).astype(np.float32)

    def interpolate(self, *keys, steps: int = 9, method: str = "slerp") -> np.ndarray:
        """Latent path through key latents: interpolate(za, zb, ...) or interpolate(Z[K, D]).

        Returns float32 [(K-1)*(steps-1)+1, latent_dim]: `steps` frames per segment, both
        keys included, joins not repeated. With a bounded latent the path is clipped to the
        bound, since slerp's arc can leave the box the generator was trained on.
        """
        if len(keys) == 1:
            stacked = np.asarray(keys[0])
        elif len(keys) >= 2:
            parts = [np.asarray(k) for k in keys]
            if any(p.ndim != 1 for p in parts):
                raise InferenceError("pass key latents as 1-D vectors [latent_dim], "
                                     "or all of them as one array [K, latent_dim]")
            stacked = np.stack(parts) if len({p.shape for p in parts}) == 1 else None
        else:
            stacked = None
        if stacked is None or stacked.ndim != 2 or stacked.shape[0] < 2:
            raise InferenceError("interpolate needs at least two key latents of shape "
                                 f"[{self.latent_dim}] (or one array [K >= 2, {self.latent_dim}])")
        path = latents.interpolate(self._check_latents(stacked), steps, method)
        bound = self.metadata["latent_bound"]
        return path if bound is None else np.clip(path, -bound, bound)

    # --- running ---

    def _check_latents(self, z) -> np.ndarray:
        z = np.asarray(z)
        expected = f"expected latents float32 [N, {self.latent_dim}]"
        if z.dtype.kind != "f":
            raise InferenceError(f"{expected}, got dtype {z.dtype}")
        if z.ndim != 2 or z.shape[1] != self.latent_dim or z.shape[0] < 1:
            hint = " (use z[None] for a single latent)" if z.ndim == 1 else ""
            raise InferenceError(f"{expected}, got shape {list(z.shape)}{hint}")
        if not np.isfinite(z).all():
            raise InferenceError("latents contain NaN or infinity")
        return np.ascontiguousarray(z, np.float32)

    def _check_labels(self, labels, n: int) -> np.ndarray | None:
        if self.num_classes == 0:
            if labels is not None:
                raise InferenceError(f"{self.path.name} is unconditional: it takes no labels")
            return None
        if labels is None:
            raise InferenceError(f"{self.path.name} is class-conditional: give labels (class numbers or names: "
                                 f"{self.describe_classes()}), one per latent or one for all")
        labels = np.asarray(labels)
        if labels.dtype.kind in "UO":  # class names ("dogs"), one or one per latent
            labels = np.vectorize(self.class_index, otypes=[np.int64])(labels)
        if labels.dtype.kind not in "iu":
            raise InferenceError(f"labels must be integers, got dtype {labels.dtype}")
        if labels.ndim == 0:
            labels = np.full(n, labels, np.int64)
        if labels.shape != (n,):
            raise InferenceError(f"expected labels [N={n}] (or a single int), got shape "
                                 f"{list(labels.shape)}")
        bad = labels[(labels < 0) | (labels >= self.num_classes)]
        if bad.size:
            raise InferenceError(f"label {bad[0]} out of range: this model has classes "
                                 f"0..{self.num_classes - 1} ({self.describe_classes()})")
        return labels.astype(np.int64)

    def run(self, z, labels=None) -> np.ndarray:
        """The model's raw output, float32 [N, C, H, W], in metadata output_range."""
        z = self._check_latents(z)
        check_bytes(f"{len(z):,} images", (len(z), *self.image_shape), 4, "run them in smaller batches")
        feeds = {contract.INPUT_LATENT: z}
        labels = self._check_labels(labels, len(z))
        if labels is not None:
            feeds[contract.INPUT_LABEL] = labels
        try:
            (out,) = self._session.run([contract.OUTPUT_IMAGE], feeds)
        except Exception as exc:
            raise InferenceError(f"onnxruntime failed to run {self.path.name}: "
                                 f"{_ort_message(exc)}") from None
        if out.shape != (len(z), *self.image_shape):
            raise InferenceError(f"{self.path.name} returned images of shape {list(out.shape)}, "
                                 f"but its metadata says [N, {', '.join(map(str, self.image_shape))}]")
        return out.astype(np.float32, copy=False)

    def generate(self, z, labels=None) -> np.ndarray:
        """Images as uint8 [N, H, W, C] (the model's output_range mapped onto 0..255)."""
        return to_uint8(self.run(z, labels), self.output_range)
