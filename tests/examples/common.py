"""What the examples' test modules share: where things are, and how to drive the web page
(fixtures live in conftest.py)."""
from __future__ import annotations

import base64
import io
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from tests.helpers import REPO_ROOT

REPO = REPO_ROOT
EXAMPLES = REPO / "examples"
ARTIFACTS = REPO / "test-artifacts" / "examples"
NODE = shutil.which("node")


def ensure_npm_deps(folder: str, package: str) -> None:
    """Run examples/setup.sh when examples/<folder>/node_modules lacks `package`."""
    if (EXAMPLES / folder / "node_modules" / package / "package.json").is_file():
        return
    if not (shutil.which("npm") and NODE):
        pytest.skip(f"examples/{folder}/node_modules is missing and there is no node/npm to run examples/setup.sh")
    p = subprocess.run(["bash", str(EXAMPLES / "setup.sh")], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"examples/setup.sh failed:\n{p.stdout}\n{p.stderr}"
    assert (EXAMPLES / folder / "node_modules" / package / "package.json").is_file()


def open_page(browser, url):
    """A new page at ``url`` and the list its page errors and console errors are collected in."""
    page = browser.new_page(viewport={"width": 1100, "height": 720})
    errors = []
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.goto(url)
    return page, errors


def wait_generation(page, n: int, errors) -> None:
    """Wait until the page has drawn its n-th image and is idle, or fail with its status line."""
    page.wait_for_function(
        f"document.body.dataset.state === 'error' || (document.getElementById('image').dataset.generation >= {n} "
        "&& document.body.dataset.state === 'ready')", timeout=60_000)
    status = page.inner_text("#status")
    assert page.evaluate("document.body.dataset.state") == "ready", f"page failed: {status}; {errors}"
    assert page.evaluate("+document.getElementById('image').dataset.generation") == n, status
    assert status.startswith("ready")


def canvas_pixels(page) -> np.ndarray:
    """The canvas' own pixels (the model's H x W, before CSS upscaling), RGBA uint8."""
    data_url = page.evaluate("document.getElementById('image').toDataURL('image/png')")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).convert("RGBA"))
