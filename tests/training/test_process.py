"""One training process (training/process.py) on tiny data: it builds the session and the trainer,
trains and logs to the run's log.txt, resumes from a checkpoint, and a failure leaves the run
marked failed with its message: a bug's traceback in the log, a user error's only line."""
from __future__ import annotations

import logging

import pytest

from training.checkpoint import load_checkpoint
from training.preflight import Resumable
from training.process import run_training
from training.runfolder.folder import create_run
from training.session import Session
from training.trainer import Trainer

from tests.helpers import image_folder, tiny_config, training_rows

pytestmark = pytest.mark.usefixtures("one_thread", "restore_determinism", "own_logging")


@pytest.fixture
def own_logging():
    """run_training points the root logger at the run's log.txt; give the other tests theirs back."""
    root, training = logging.getLogger(), logging.getLogger("training")
    handlers, levels = root.handlers[:], (root.level, training.level)
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(levels[0])
    training.setLevel(levels[1])


@pytest.fixture
def images(tmp_path):
    return image_folder(tmp_path / "images", 16)


def test_a_run_trains_to_its_end_and_logs_what_it_trained(images, tmp_path):
    config = tiny_config(images, steps=4)
    run = create_run(tmp_path / "runs", "tiny", config.to_dict())
    made = []

    def make_trainer(session: Session, folder) -> Trainer:
        made.append(Trainer(session, folder))
        return made[-1]

    assert run_training(config, run, make_trainer=make_trainer) == "finished"
    assert made[0].session.config == config and made[0].writer.run == run  # built from the config, for this run
    assert run.read_status()["state"] == "finished" and made[0].step == 4
    log = run.log_path.read_text()
    assert f"run {run.id}: {config.model} on folder, 16 images, cpu, 1 process(es)" in log
    assert "finished: " in log and "Traceback" not in log


def test_a_resume_continues_from_its_checkpoint_and_drops_the_rows_after_it(images, tmp_path):
    run = create_run(tmp_path / "runs", "tiny", tiny_config(images, steps=4, checkpoint_every=2).to_dict())
    assert run_training(tiny_config(images, steps=4, checkpoint_every=2), run) == "finished"
    earlier = load_checkpoint(run.checkpoints_dir / "step_0000002.pt")

    assert run_training(tiny_config(images, steps=6), run, resumable=Resumable(earlier)) == "finished"
    assert [r["step"] for r in training_rows(run)] == [1, 2, 3, 4, 5, 6]  # rows 3 and 4 once, from the resume
    assert f"resumed {run.id} at step 2" in run.log_path.read_text()


def test_a_bug_marks_the_run_failed_with_its_message_and_logs_its_traceback(images, tmp_path):
    config = tiny_config(images, steps=6)
    run = create_run(tmp_path / "runs", "tiny", config.to_dict())

    def failing_at_step_3(session: Session, folder) -> Trainer:
        trainer = Trainer(session, folder)
        generator_loss = session.loss.generator_loss

        def loss(scores):
            if trainer.step == 2:
                raise RuntimeError("the generator's loss broke")
            return generator_loss(scores)

        session.loss.generator_loss = loss
        return trainer

    with pytest.raises(RuntimeError, match="loss broke"):
        run_training(config, run, make_trainer=failing_at_step_3)
    status = run.read_status()
    assert status["state"] == "failed" and status["step"] == 2
    assert status["message"] == "RuntimeError: the generator's loss broke"
    log = run.log_path.read_text()
    assert "run failed" in log and "Traceback" in log


def test_a_user_error_marks_the_run_failed_and_keeps_its_traceback_out_of_the_log(images, tmp_path):
    config = tiny_config(images, conditional=True)  # a folder without class subfolders has no labels
    run = create_run(tmp_path / "runs", "tiny", config.to_dict())
    with pytest.raises(Exception, match="conditional=true needs a labelled dataset"):
        run_training(config, run)
    status = run.read_status()
    assert status["state"] == "failed" and status.get("step", 0) == 0  # it failed before any trainer existed
    assert status["message"].startswith("ConfigError: conditional=true needs a labelled dataset")
    log = run.log_path.read_text()
    assert "run failed: conditional=true needs a labelled dataset" in log and "Traceback" not in log
