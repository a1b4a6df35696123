"""app/paths.py: where the app looks (read from the environment at each call), and the check that
keeps it to its own folders when a name read from a file or a link leads elsewhere."""
from __future__ import annotations

import os

from app.paths import REPO, images_dir, inside, launch_dir, models_dir, mtime, refusal, runs_dir


def test_the_folders_follow_the_environment_at_each_call(tmp_path, monkeypatch):
    monkeypatch.delenv("GAN_STUDIO_MODELS", raising=False)
    monkeypatch.delenv("GAN_STUDIO_RUNS", raising=False)
    monkeypatch.delenv("GAN_STUDIO_IMAGES", raising=False)
    monkeypatch.chdir(tmp_path)
    assert images_dir() == tmp_path / "images"                               # images/ beside runs/
    monkeypatch.setenv("GAN_STUDIO_IMAGES", "pictures")
    assert images_dir() == tmp_path / "pictures"
    assert models_dir() == REPO / "exported" and (REPO / "streamlit_app.py").is_file()
    assert runs_dir() == tmp_path / "runs"                                   # runs/ in the current folder
    monkeypatch.setenv("GAN_STUDIO_RUNS", "elsewhere/runs")
    monkeypatch.setenv("GAN_STUDIO_MODELS", str(tmp_path / "models"))
    assert runs_dir() == tmp_path / "elsewhere" / "runs" and runs_dir().is_absolute()
    assert models_dir() == tmp_path / "models"
    assert launch_dir() == tmp_path / "elsewhere" / "runs" / ".launch"


def test_inside_follows_links_and_refuses_what_leads_out(tmp_path):
    root, other = tmp_path / "runs", tmp_path / "other"
    (root / "run").mkdir(parents=True)
    other.mkdir()
    (root / "run" / "log.txt").write_text("mine")
    (other / "secret").write_text("not mine")
    (root / "run" / "out").symlink_to(other / "secret")
    (root / "run" / "loop").symlink_to(root / "run" / "loop")
    assert inside(root / "run" / "log.txt", root)
    assert inside(root / "run" / "missing.txt", root)                        # not there yet, but would be ours
    assert not inside(root / "run" / "out", root)                            # a link out of the folder
    assert inside(root / "run" / "out", root, other)                         # unless it leads to another root
    assert not inside(root / "run" / ".." / ".." / "other" / "secret", root)
    assert not inside(root / "run" / "loop", root)                           # a link loop is never ours
    assert not inside(root / "bad\0name", root)                              # nor a name with a NUL


def test_a_refusal_names_where_the_path_really_leads(tmp_path):
    (tmp_path / "target").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    text = refusal(tmp_path / "link", "the models folder")
    assert text.startswith(f"refused: {tmp_path / 'target'} lies outside the models folder")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    assert "loop lies outside its run folder" in refusal(tmp_path / "loop", "its run folder")


def test_mtime_of_a_file_deleted_meanwhile_is_zero(tmp_path):
    path = tmp_path / "status.json"
    path.write_text("{}")
    os.utime(path, (1_000_000, 1_000_000))
    assert mtime(path) == 1_000_000
    path.unlink()
    assert mtime(path) == 0.0
