"""GAN Studio inference: run exported ONNX generators with numpy + onnxruntime (no torch).

    from inference import Generator
    g = Generator.load("exported/mnist-dcgan.onnx")
    images = g.generate(g.sample_latent(16, seed=7))   # uint8 [16, H, W, C]
"""

from .contract import (
    metadata_from_card,
    metadata_from_props,
    metadata_to_card,
    metadata_to_props,
)
from .errors import InferenceError
from .generator import Generator
from .images import image_grid, save_gif, save_png, to_pil, to_uint8, upscale
from .latents import lerp, slerp

__all__ = [
    "Generator", "InferenceError", "image_grid", "save_gif", "save_png", "to_pil", "to_uint8",
    "upscale", "lerp", "slerp", "metadata_from_props", "metadata_to_props",
    "metadata_from_card", "metadata_to_card",
]
