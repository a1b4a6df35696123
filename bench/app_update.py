"""Server-side cost of one interpolation-slider update in the Explore page.

What the app does when the morph slider moves: take the point on the key path (slerp), move it
along the direction sliders, run the generator for one image and encode the enlarged PNG that
st.image sends (app.latent_maths.frame_png, the very function the page calls). Streamlit's own overhead
(the rerun of the fragment, the websocket) comes on top and is not measured here.

    python bench/app_update.py [MODEL.onnx]     # default: a 28x28 model from exported/ or runs/,
                                                 # else a small contract-following stand-in
Target: under 50 ms per update for a 28x28 model on this CPU.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from app import latent_maths  # noqa: E402
from app.catalogue import find_models  # noqa: E402
from inference import Generator  # noqa: E402


def pick_model() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    for entry in find_models():
        try:
            if Generator.load(entry.path, device="cpu").image_shape[1:] == (28, 28):
                return entry.path
        except Exception:  # noqa: BLE001 - a broken file is simply not a candidate
            continue
    from tests.helpers import make_onnx_generator

    return make_onnx_generator(Path(tempfile.mkdtemp()) / "stand-in.onnx", latent_dim=100)


def main() -> None:
    path = pick_model()
    g = Generator.load(path)
    keys = np.stack([latent_maths.latent(g, 0, 0), latent_maths.latent(g, 0, 1), latent_maths.latent(g, 0, 2)])
    label = 3 if g.conditional else None
    dirs, spread, _ = latent_maths.directions(g)
    offset = (1.5 * spread[0] * dirs[0]).astype(np.float32)
    for t in np.linspace(0, 1, 10):  # warm-up: first runs allocate
        latent_maths.frame_png(g, keys, float(t), "slerp", label, offset)
    times = []
    for t in np.linspace(0, 1, 200):
        start = time.perf_counter()
        png = latent_maths.frame_png(g, keys, float(t), "slerp", label, offset)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print(f"model: {path} ({g.metadata.get('architecture')}, {'x'.join(map(str, g.image_shape))}, "
          f"{g.provider})")
    print(f"one slider update (path point + directions + generate 1 + PNG {len(png)} bytes, 256 px): "
          f"median {statistics.median(times):.2f} ms, p90 {times[int(0.9 * len(times))]:.2f} ms, "
          f"max {times[-1]:.2f} ms over {len(times)} updates; target < 50 ms")


if __name__ == "__main__":
    main()
