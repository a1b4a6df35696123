"""The Train page's "Your images" panel: upload a .zip or pick a folder of the images folder, see
what a run would read before it starts, and choose how transparency is trained.

Returns the config values it sets (``data_root`` and, for transparent images, ``transparency``,
``channels``, ``background``) and, while no usable folder is chosen, what is missing.
"""
from __future__ import annotations

from collections import Counter

import streamlit as st

from app import image_folders
from app.images import png_bytes
from app.markdown_escape import code, escape
from app.paths import images_dir
from dataio import archive
from dataio.archive import ArchiveError

SIZES = (32, 64, 128, 256)
LIMITS = (f"at most {archive.MAX_UPLOAD_BYTES // archive.MiB} MiB uploaded, "
          f"{archive.MAX_UNPACKED_BYTES // archive.MiB:,} MiB unpacked, {archive.MAX_MEMBERS:,} files, "
          f"{archive.MAX_IMAGE_PIXELS // 1_000_000} megapixels an image")


@st.cache_data(max_entries=8, show_spinner="Reading the images' headers…")
def _survey(folder: str, stamp: tuple) -> image_folders.Survey:
    return image_folders.survey(folder)


@st.cache_data(max_entries=8, show_spinner=False)
def _grid_png(folder: str, stamp: tuple) -> bytes | None:
    grid = image_folders.example_grid(_survey(folder, stamp))
    return None if grid is None else png_bytes(grid)


def _unpack(upload) -> None:
    """Unpack a new upload once (a rerun sees the same file_id) and remember what came of it."""
    if st.session_state.get("unpacked_id") == upload.file_id:
        return
    st.session_state["unpacked_id"] = upload.file_id
    try:
        with st.spinner("Checking and unpacking the zip…"):
            done = image_folders.accept_upload(upload.name, upload, size=upload.size)
    except ArchiveError as error:
        reason = str(error) if str(error).endswith(("?", ".", ")")) else f"{error}."
        st.session_state["upload_note"] = ("error", f"**The zip was refused, and nothing was written.** {escape(reason)}")
        return
    st.session_state["image_folder"] = done.folder.name
    skipped = f"; skipped {len(done.skipped)} other files (listed below)" if done.skipped else ""
    st.session_state["upload_note"] = ("success", f"Unpacked {done.images:,} images into {code(done.folder)}{skipped}.")
    st.session_state["upload_skipped"] = done.skipped


def images_panel(base: dict, fields: set[str]) -> tuple[dict, str | None]:
    """The panel; ``base`` is the preset's config, ``fields`` the config fields there are."""
    root = images_dir()
    st.markdown("**Your images**")
    upload = st.file_uploader("Add a .zip of images", type=["zip"], key="zip_upload",
                              max_upload_size=archive.MAX_UPLOAD_BYTES // archive.MiB,
                              help=f"unpacked into its own folder of `{root}`; one subfolder per class when they are "
                                   f"labelled. Limits: {LIMITS}. Paths leading out of the zip, links and image "
                                   "bombs are refused")
    if upload is not None:
        _unpack(upload)
        kind, text = st.session_state.get("upload_note", ("info", ""))
        (st.error if kind == "error" else st.success)(text, icon=":material/folder_zip:")
        if kind != "error" and st.session_state.get("upload_skipped"):
            with st.expander(f"Not unpacked: {len(st.session_state['upload_skipped'])} files"):
                st.markdown("\n".join(f"- {code(name)}: {escape(why)}" for name, why in st.session_state["upload_skipped"][:100]))
    names = [folder.name for folder in image_folders.folders()]
    if not names:
        st.info(f"No image folders yet in `{root}`: upload a .zip above, or put a folder of images there "
                "(one subfolder per class) and it is listed here.", icon=":material/photo_library:")
        return {}, "upload a .zip of images or put a folder of them in the images folder first"
    if st.session_state.get("image_folder") not in names:
        st.session_state["image_folder"] = names[0]
    name = st.selectbox("Image folder", names, key="image_folder",
                        help=f"the folders in `{root}` ($GAN_STUDIO_IMAGES); the run reads the one picked")
    folder = root / name
    found = _survey(str(folder), image_folders.stamp(folder))
    values: dict = {"data_root": str(folder)}
    problem = _preview(found, _grid_png(str(folder), image_folders.stamp(folder)))
    values["image_size"] = st.selectbox("Image size", SIZES, index=SIZES.index(base["image_size"])
                                        if base.get("image_size") in SIZES else 1, key="image_size_pick",
                                        help="every image is scaled so its short side is this, then centre-cropped")
    if found.transparent and "transparency" in fields:
        values |= _transparency(base, found)
    return values, problem


def _preview(found: image_folders.Survey, grid_png: bytes | None) -> str | None:
    """What the run would read; the reason nothing can start, when nothing is usable."""
    if not found.images:
        why = Counter(reason.split(" (")[0] for _, reason in found.skipped)
        st.error(f"**No usable images in {code(found.folder.name)}.** "
                 + (f"Skipped: {image_folders.describe(why)}." if why else "The folder is empty."),
                 icon=":material/hide_image:")
        _skipped(found)
        return f"no usable images in {found.folder}"
    st.markdown(f"**{len(found.images):,} images** · sizes {image_folders.describe(found.sizes)} · "
                f"modes {image_folders.describe(found.modes)}"
                + (f" · {found.transparent:,} with transparency" if found.transparent else ""))
    if found.classes:
        st.caption(f"**{len(found.classes)} classes**, from the first-level subfolders (tick *Class-conditional* "
                   "to choose one when drawing): " + ", ".join(f"{escape(c)} ({n:,})" for c, n in found.classes.items()))
    else:
        st.caption(f"Unlabelled: {escape(found.unlabelled_because)}.")
    if grid_png:
        st.image(grid_png, caption="examples (transparency over a checkerboard)", output_format="PNG")
    _skipped(found)
    return None


def _skipped(found: image_folders.Survey) -> None:
    if found.skipped:
        with st.expander(f"Skipped {len(found.skipped):,} files"):
            st.markdown("\n".join(f"- {code(name)}: {escape(why)}" for name, why in found.skipped[:200])
                        + ("\n- …" if len(found.skipped) > 200 else ""))


def _transparency(base: dict, found: image_folders.Survey) -> dict:
    keep = st.radio("Transparency", ["blend over a colour", "keep as alpha"], horizontal=True, key="transparency_pick",
                    index=1 if base.get("transparency") == "alpha" else 0,
                    help="blend: each image is drawn over the colour below and trained as RGB; alpha: the "
                         "generator learns transparency as a 4th channel, shown on a checkerboard")
    if keep == "keep as alpha":
        return {"transparency": "alpha", "channels": 4}
    colour = st.color_picker("Background", value=base.get("background") or "#ffffff", key="background_pick",
                             help="the colour transparent pixels are blended over")
    return {"transparency": "composite", "channels": 3 if base.get("channels") == 4 else base.get("channels", 3),
            "background": colour.lower()}
