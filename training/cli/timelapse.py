"""``python -m training timelapse RUN --out run.gif``: a run's sample grids as an animation
(training/runfolder/timelapse.py), GIF or MP4 by the name's suffix; an existing file is replaced only with
--force, and the file is written whole or not at all."""
from __future__ import annotations

import sys
from pathlib import Path

from studio.cli import check_output_file
from training.runfolder.files import atomic_write_bytes
from training.runfolder.folder import find_run
from training.runfolder.timelapse import make_timelapse


def cmd_timelapse(args) -> int:
    run = find_run(args.run, Path(args.runs_dir))
    out = check_output_file(args.out, "--out", (".gif", ".mp4"), force=args.force)
    data, steps = make_timelapse(run, out.suffix.lower()[1:], args.fps, caption=not args.no_caption)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, data)
    print(f"{out}: {len(steps)} frame(s), steps {steps[0]}..{steps[-1]}, {len(data):,} bytes", file=sys.stderr)
    print(out)
    return 0


def add_parser(sub, runs_dir: str) -> None:
    p = sub.add_parser("timelapse", help="a run's fixed-latent sample grids as an animated GIF or MP4")
    p.add_argument("run", help="run id or run folder")
    p.add_argument("--out", required=True, help="the file to write: NAME.gif, or NAME.mp4 (H.264, via imageio-ffmpeg)")
    p.add_argument("--fps", type=float, default=4.0, help="frames (sample grids) per second (default 4)")
    p.add_argument("--no-caption", action="store_true", help="leave out the 'step N' strip above each frame")
    p.add_argument("--force", action="store_true", help="replace --out if it exists (never a file inside a run folder, "
                   "a model's card or a shipped file)")
    p.add_argument("--runs-dir", default=runs_dir)
    p.set_defaults(func=cmd_timelapse)
