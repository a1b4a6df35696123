"""What the browser tests share (not a test module): the app served by `streamlit run` on a free
localhost port, headless Debian Chromium with the project's flags, waiting for a script run to end,
and screenshots into test-artifacts/ (gitignored; the README's come from there, docs/screenshots/).

Never `playwright install`: it downloads a browser, which fails offline; we use /usr/bin/chromium.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import CHROMIUM, CHROMIUM_FLAGS, REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    """`streamlit run streamlit_app.py` on a free localhost port; stop() and start() again to
    show that runs outlive the app."""

    def __init__(self, env: dict, log_path: Path):
        self.env, self.log_path, self.proc = env, log_path, None

    def start(self) -> None:
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(self.port),
                 "--server.headless", "true", "--server.address", "localhost"],
                cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(self.url + "/_stcore/health", timeout=2)
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail("streamlit did not start:\n" + self.log_path.read_text()[-3000:])
                time.sleep(0.5)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def open_browser(init_script: str | None = None):
    """(playwright, browser, page): headless Chromium at 1440x1300 that accepts downloads; close the
    browser and stop playwright when done. ``init_script`` runs in every page before its own scripts."""
    from playwright.sync_api import sync_playwright  # only the browser tests need Playwright

    p = sync_playwright().start()
    browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
    context = browser.new_context(viewport={"width": 1440, "height": 1300}, accept_downloads=True)
    if init_script:
        context.add_init_script(init_script)
    return p, browser, context.new_page()


def settle(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished the script run that the last action started."""
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout)


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
