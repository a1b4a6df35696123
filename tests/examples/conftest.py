"""Fixtures of the examples' tests: the Node example's packages, the repository served over http,
and Debian's Chromium driven by Playwright (never `playwright install`)."""
from __future__ import annotations

import functools
import http.server
import threading

import pytest

from tests.examples.common import NODE, REPO, ensure_npm_deps
from tests.helpers import CHROMIUM, CHROMIUM_FLAGS


@pytest.fixture(scope="module")
def node_example():
    if NODE is None:
        pytest.skip("no `node` on PATH: the Node example needs Node.js 18+ (apt-get install nodejs npm)")
    ensure_npm_deps("node", "onnxruntime-node")


class _StaticHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript", ".onnx": "application/octet-stream"}

    def log_message(self, *args):  # keep pytest's output quiet
        pass


@pytest.fixture(scope="module")
def web_server():
    """The repository root over http on a free 127.0.0.1 port, static files only."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_StaticHandler, directory=str(REPO)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("no Chromium at /usr/bin/chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright Python package is not installed (pip install -r requirements-dev.txt)")
    ensure_npm_deps("web", "onnxruntime-web")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield b
        b.close()
