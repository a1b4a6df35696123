"""An encoder network beside a generator: ``NAME.encoder.onnx`` maps an image to a latent (E: x -> z).

``python -m training train-encoder NAME.onnx`` trains it on pairs (z, G(z)) drawn from the exported
generator itself and writes it beside the model. The encoder is bound to one generator file: its
metadata names the SHA-256 of the generator it was trained for, and loading it for any other file
(another model, or the same model re-exported) is refused, since its latents would mean nothing there.

Contract: input ``image`` float32 [N, C, H, W] in [-1, 1] (the generator's output range mapped
there); output ``z`` float32 [N, latent_dim]; metadata_props in the ``gan_studio.`` namespace:
``encoder`` ("1"), ``generator_sha256``, ``generator``, ``latent_dim``, ``image_shape`` ("C,H,W"),
and how it was trained (``train_steps``, ``pairs``, ``val_z_mse``, ``training_command``, ``created``).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from . import hardware
from .errors import InferenceError
from .files import file_sha256
from .generator import Generator
from .limits import check_model_size

SUFFIX = ".encoder.onnx"
PREFIX = "gan_studio."
INPUT, OUTPUT = "image", "z"
BATCH = 256


def encoder_path(model: str | os.PathLike) -> Path:
    """Where the encoder of ``model`` (NAME.onnx) lives: NAME.encoder.onnx beside it."""
    model = Path(model)
    stem = model.name[:-len(".onnx")] if model.name.endswith(".onnx") else model.stem
    return model.with_name(stem + SUFFIX)


class Encoder:
    """A loaded encoder, checked against the generator it is used with."""

    def __init__(self, session: ort.InferenceSession, metadata: dict[str, str], path: Path):
        self.session, self.metadata, self.path = session, metadata, path

    @classmethod
    def load(cls, path: str | os.PathLike, generator: Generator) -> "Encoder":
        path = Path(path)
        if not path.is_file():
            raise InferenceError(f"encoder not found: {path} (train one: python -m training train-encoder {generator.path})")
        check_model_size(path)
        ort.set_default_logger_severity(3)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = hardware.usable_cores()
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's exceptions share no base class but Exception
            raise InferenceError(f"{path} is not an ONNX network onnxruntime can load ({exc})") from None
        meta = {k[len(PREFIX):]: v for k, v in session.get_modelmeta().custom_metadata_map.items() if k.startswith(PREFIX)}
        if meta.get("encoder") != "1" or [i.name for i in session.get_inputs()] != [INPUT] \
                or OUTPUT not in [o.name for o in session.get_outputs()]:
            raise InferenceError(f"{path} is not a GAN Studio encoder (it needs input {INPUT!r}, output {OUTPUT!r} and "
                                 f"{PREFIX}encoder metadata)")
        encoder = cls(session, meta, path)
        encoder.check_matches(generator)
        return encoder

    def check_matches(self, g: Generator) -> None:
        """Refuse an encoder trained for another generator file (or another version of this one)."""
        retrain = f"retrain it: python -m training train-encoder {g.path} --force"
        wanted, actual = self.metadata.get("generator_sha256", ""), file_sha256(g.path)
        if wanted != actual:
            raise InferenceError(f"{self.path.name} was trained for another generator ({self.metadata.get('generator', '?')}, "
                                 f"sha256 {wanted[:12] or 'unknown'}), not for {g.path.name} (sha256 {actual[:12]}); {retrain}")
        shape = ",".join(str(s) for s in g.image_shape)
        if self.metadata.get("latent_dim") != str(g.latent_dim) or self.metadata.get("image_shape") != shape:
            raise InferenceError(f"{self.path.name} maps {self.metadata.get('image_shape')} images to "
                                 f"{self.metadata.get('latent_dim')} latents; {g.path.name} needs {shape} and {g.latent_dim}; {retrain}")

    def encode(self, images: np.ndarray) -> np.ndarray:
        """float32 [N, C, H, W] in [-1, 1] -> float32 [N, latent_dim]."""
        images = np.ascontiguousarray(images, np.float32)
        return np.concatenate([self.session.run([OUTPUT], {INPUT: images[i:i + BATCH]})[0]
                               for i in range(0, len(images), BATCH)]).astype(np.float32)


def find_encoder(g: Generator) -> tuple[Encoder | None, str]:
    """The usable encoder beside ``g`` (NAME.encoder.onnx) and a note; (None, why not) when there is
    none or it does not fit this generator."""
    path = encoder_path(g.path)
    if not path.is_file():
        return None, f"no encoder beside the model ({path.name})"
    try:
        return Encoder.load(path, g), f"started from the encoder {path.name}"
    except InferenceError as exc:
        return None, f"encoder not used: {exc}"
