"""GAN Studio inference: run exported ONNX generators with numpy + onnxruntime (no torch).

    from inference import Generator, on_checkerboard
    g = Generator.load("exported/mnist-dcgan.onnx")
    images = g.generate(g.sample_latent(16, seed=7))   # uint8 [16, H, W, C], C = 1, 3 or 4 (RGBA)
    shown = on_checkerboard(images)                     # RGBA over a checkerboard as RGB, for a viewer
"""

from .contract import (
    metadata_from_card,
    metadata_from_props,
    metadata_to_card,
    metadata_to_props,
)
from .errors import InferenceError
from .generator import Generator
from .images import image_grid, on_background, on_checkerboard, save_gif, save_png, to_pil, to_uint8, upscale
from .latents import lerp, slerp

__all__ = [
    "Generator", "InferenceError", "image_grid", "on_background", "on_checkerboard", "save_gif", "save_png",
    "to_pil", "to_uint8",
    "upscale", "lerp", "slerp", "metadata_from_props", "metadata_to_props",
    "metadata_from_card", "metadata_to_card",
]
