"""app/image_picker.py, the Train page's "Your images" panel: through AppTest (a folder picked and
previewed, the run's command carrying it) and, for the upload widget AppTest cannot drive, in
headless Chromium (a good zip unpacked and previewed, each bad one refused with nothing written)."""
from __future__ import annotations

import pytest

from app import image_folders
from tests.app.browser import App, open_browser, settle
from tests.dataio.common import BAD_ZIPS, labelled_zip, png
from tests.helpers import CHROMIUM, SHARED_DATA, app_text, new_app, tree_hashes
from training import config as configs

EMOJI = SHARED_DATA / "emoji-google"


@pytest.fixture
def images(app_env, monkeypatch):
    root = app_env["tmp"] / "images"
    monkeypatch.setenv("GAN_STUDIO_IMAGES", str(root))
    return root


def own_images(at):
    at.button(key="own_images").click().run()
    assert at.selectbox(key="preset").value == "dcgan-ada-folder-64"
    return at


def test_no_folder_yet_says_where_to_put_one_and_nothing_starts(images):
    at = own_images(new_app("app/pages/train.py"))
    assert "No image folders yet" in at.info[0].value and str(images) in at.info[0].value
    assert at.button(key="start").disabled and "Your images" in at.error[0].value


def test_a_folder_is_previewed_and_the_run_reads_it(images):
    image_folders.accept_upload("pets.zip", labelled_zip())
    (images / "notes").mkdir()
    (images / "notes" / "todo.txt").write_text("not images")
    at = own_images(new_app("app/pages/train.py"))
    assert at.selectbox(key="image_folder").options == ["notes", "pets"]
    at.selectbox(key="image_folder").select("pets").run()
    text = app_text(at)
    assert "**4 images** · sizes 8×8 (3), 16×12 (1)" in text and "1 with transparency" in text
    assert "**2 classes**" in text and "cats (3), dogs (1)" in text
    assert any(img.caption.startswith("examples") for image in at.get("image") for img in image.proto.imgs)
    assert f"--set data_root={images / 'pets'}" in at.code[0].value and not at.button(key="start").disabled
    at.selectbox(key="image_size_pick").select(32).run()
    assert "image_size=32" in at.code[0].value
    at.selectbox(key="image_folder").select("notes").run()                # a folder of no images
    assert "No usable images in `notes`" in at.error[0].value and "not an image file" in at.error[0].value
    assert at.button(key="start").disabled


@pytest.mark.skipif("transparency" not in configs.FIELDS, reason="no transparency setting in the config yet")
def test_transparent_images_are_trained_as_the_user_chooses(images):
    folder = images / "icons"
    for i in range(3):
        (folder / f"{i}.png").parent.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}.png").write_bytes(png((8, 8), "RGBA"))
    at = own_images(new_app("app/pages/train.py"))
    at.radio(key="transparency_pick").set_value("keep as alpha").run()
    assert "transparency=alpha" in at.code[0].value and "channels=4" in at.code[0].value
    assert not at.button(key="start").disabled
    at.radio(key="transparency_pick").set_value("blend over a colour").run()
    at.color_picker(key="background_pick").pick("#000000").run()
    assert "background=#000000" in at.code[0].value and "channels=4" not in at.code[0].value
    assert not at.error


@pytest.mark.skipif(not EMOJI.is_dir(), reason="no emoji-google folder beside the project")
def test_the_emoji_folder_linked_into_the_images_folder(images):
    images.mkdir()
    (images / "emoji").symlink_to(EMOJI)
    at = own_images(new_app("app/pages/train.py"))
    text = app_text(at)
    assert "**3,786 images** · sizes 64×64 (3,786)" in text and "**10 classes**" in text
    assert "people-and-body (2,261)" in text and "Skipped 2 files" in [e.label for e in at.expander]


# --- the upload itself, in a real browser ---

@pytest.fixture
def browser_app(tmp_path, mnist_root):
    import os

    images, runs, models = tmp_path / "images", tmp_path / "runs", tmp_path / "exported"
    images.mkdir()
    runs.mkdir()
    env = {**os.environ, "GAN_STUDIO_IMAGES": str(images), "GAN_STUDIO_RUNS": str(runs),
           "GAN_STUDIO_MODELS": str(models), "GAN_STUDIO_DATA": str(mnist_root.parent)}
    app = App(env, tmp_path / "streamlit.log")
    app.start()
    p, browser, page = open_browser()
    yield {"url": app.url, "images": images, "page": page, "tmp": tmp_path}
    browser.close()
    p.stop()
    app.stop()


def upload(page, path) -> str:
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(path))
    settle(page)
    return page.locator("[data-testid='stAlert']").first.inner_text(timeout=30_000)


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium")
def test_uploading_zips_in_the_browser(browser_app):
    page, images, tmp = browser_app["page"], browser_app["images"], browser_app["tmp"]
    page.goto(browser_app["url"] + "/train", wait_until="domcontentloaded")
    page.wait_for_selector("text=New run", timeout=60_000)
    settle(page)
    page.get_by_role("button", name="Train on your own images").click()
    settle(page)
    before = tree_hashes(images)
    for case in ("parent path", "symlink", "ratio bomb", "image bomb", "no images"):
        data, reason = BAD_ZIPS[case]
        (tmp / f"{case.replace(' ', '-')}.zip").write_bytes(data)
        message = upload(page, tmp / f"{case.replace(' ', '-')}.zip")
        assert "refused, and nothing was written" in message and reason in message, (case, message)
        assert tree_hashes(images) == before, case                       # the next upload replaces this one
    (tmp / "pets.zip").write_bytes(labelled_zip())
    message = upload(page, tmp / "pets.zip")
    assert "Unpacked 4 images" in message and (images / "pets" / "cats" / "a.png").is_file()
    page.wait_for_selector("text=4 images", timeout=30_000)
    assert page.get_by_text("2 classes").count() == 1
    assert "data_root=" + str(images / "pets") in page.locator("[data-testid='stCode']").first.inner_text()
    assert page.locator("[data-testid='stException']").count() == 0
