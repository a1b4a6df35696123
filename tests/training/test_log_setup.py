"""training/log_setup.py: a `python -m training` process logs its progress to stderr and to its run's
log.txt, once even when the app already sends stderr there; other ranks and libraries only warn."""
from __future__ import annotations

import logging
import shutil
import subprocess
import sys

import pytest

from training.log_setup import setup_logging
from training.runfolder.files import RunError
from training.runfolder.folder import create_run

from tests.helpers import REPO_ROOT

pytestmark = pytest.mark.usefixtures("restore_logging")
log = logging.getLogger("training")


def test_the_main_process_logs_progress_to_stderr_and_the_run_log(tmp_path, capsys):
    run = create_run(tmp_path, "r", {})
    setup_logging(run, True)
    log.info("step 10/100")
    logging.getLogger("onnxscript").info("exporter chatter")  # other libraries: warnings only
    for handler in logging.getLogger().handlers:
        handler.flush()
    err = capsys.readouterr().err
    assert "INFO step 10/100" in err and "chatter" not in err
    text = run.log_path.read_text()
    assert "INFO step 10/100" in text and "chatter" not in text
    assert text.splitlines()[0][:4].isdigit()  # each line starts with its time


def test_another_rank_logs_warnings_to_stderr_only(tmp_path, capsys):
    run = create_run(tmp_path, "r", {})
    setup_logging(run, False)
    log.info("rank 1 progress")
    log.warning("rank 1 trouble")
    err = capsys.readouterr().err
    assert "rank 1 trouble" in err and "rank 1 progress" not in err
    assert not run.log_path.exists() or "rank 1" not in run.log_path.read_text()


def test_without_a_run_it_logs_to_stderr(capsys):
    setup_logging(None, True)
    log.info("exporting")
    assert "INFO exporting" in capsys.readouterr().err


def test_when_stderr_is_the_run_log_each_line_is_written_once(tmp_path):
    # The app starts training with stderr sent to log.txt; a second handler on it would double every line.
    run = create_run(tmp_path, "r", {})
    script = ("import logging, sys; from training.log_setup import setup_logging; "
              "from training.runfolder.folder import RunFolder; from pathlib import Path; "
              "setup_logging(RunFolder(Path(sys.argv[1])), True); logging.getLogger('training').info('only once')")
    with open(run.log_path, "ab") as stderr:
        subprocess.run([sys.executable, "-c", script, str(run.path)], cwd=REPO_ROOT, stderr=stderr, check=True,
                       timeout=60)
    assert run.log_path.read_text().count("only once") == 1


def test_a_run_folder_deleted_under_the_process_is_not_made_again(tmp_path):
    run = create_run(tmp_path, "r", {})
    shutil.rmtree(run.path)
    with pytest.raises(RunError, match="no longer exists"):
        setup_logging(run, True)
    assert not run.path.exists()
