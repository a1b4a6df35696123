"""streamlit_app.py, the app as a whole: its navigation reaches every page, empty states guide the
user, and no page or helper imports torch."""
from __future__ import annotations

import subprocess
import sys

from tests.helpers import REPO_ROOT, new_app, no_errors


def test_empty_states_guide_the_user(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_STUDIO_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("GAN_STUDIO_MODELS", str(tmp_path / "none"))
    at = new_app()
    no_errors(at)
    assert "No models yet" in at.info[0].value
    at.switch_page("app/pages/runs.py").run()
    assert "No runs yet" in at.info[0].value
    at.switch_page("app/pages/model_files.py").run()
    assert "No models yet" in at.info[0].value


PAGES = ("app/pages/explore.py", "app/pages/train.py", "app/pages/runs.py", "app/pages/studies.py", "app/pages/playground.py", "app/pages/model_files.py")


def test_every_page_script_is_in_the_navigation():
    """A page script left out of streamlit_app.py's list would be a file no user can reach."""
    scripts = sorted(f"app/pages/{p.name}" for p in (REPO_ROOT / "app" / "pages").glob("*.py") if p.name != "__init__.py")
    assert sorted(PAGES) == scripts
    entry = (REPO_ROOT / "streamlit_app.py").read_text()
    assert all(f'st.Page("{page}"' in entry for page in PAGES)

NO_TORCH = """
import importlib, pkgutil, sys
sys.path.insert(0, ".")
import app
from streamlit.testing.v1 import AppTest

pages = {PAGES!r}
for module in pkgutil.iter_modules(app.__path__):  # every helper module; the pages run as pages below
    importlib.import_module(f"app.{{module.name}}")
at = AppTest.from_file("streamlit_app.py", default_timeout=120)
at.run()
for page in pages[1:]:
    at.switch_page(page).run()
assert not at.exception, [e.value for e in at.exception]
bad = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
print("TORCH", bad)
sys.exit(1 if bad else 0)
""".format(PAGES=PAGES)


def test_app_never_imports_torch(app_env):
    done = subprocess.run([sys.executable, "-c", NO_TORCH], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
