"""The Models page through AppTest: uploads are validated before anything is saved."""
from __future__ import annotations

from tests.helpers import new_app, no_errors


def test_upload_rejects_a_bad_file_and_saves_a_good_one(app_env):
    models = app_env["models"]
    before = sorted(p.name for p in models.iterdir())
    at = new_app("app/pages/model_files.py")
    no_errors(at)
    at.file_uploader(key="upload").set_value(("evil name.onnx", b"this is not onnx", "application/octet-stream")).run()
    assert "Rejected" in at.error[0].value
    assert sorted(p.name for p in models.iterdir()) == before          # nothing saved

    good = (models / "toy.onnx").read_bytes()
    at = new_app("app/pages/model_files.py")
    at.file_uploader(key="upload").set_value(("My Model!.onnx", good, "application/octet-stream")).run()
    no_errors(at)
    assert (models / "my-model.onnx").is_file()                         # saved under a safe name
    assert any("my-model" in m.value for m in at.markdown)
