"""Issue 16's catalogue of bad inputs to the three command lines and the Python APIs: each one is
refused with one clear line (exit status 2) or the package's own exception, never a traceback,
and nothing on disk changes (every file of the models folder, the run folder and the output
folder is hashed before and after). The models are tmp copies, never the real exported/."""
from __future__ import annotations

import shlex

import numpy as np
import pytest

from evaluation import EvaluationError, evaluate_model
from evaluation.cli import main as evaluation_main
from inference import Generator, InferenceError, save_gif, save_png, upscale
from inference.cli import main as inference_main
from studio.cli import BUG_LINE, Parser, run_cli
from training import config as configs
from training.cli.main import main as training_main

from tests.helpers import file_hashes
from tests.hostile.common import call, case_parts, error_line

MAINS = {"inference": inference_main, "evaluation": evaluation_main, "training": training_main}


def _cuda() -> bool:
    import torch  # only to know whether the --device cuda cases can fail here

    return torch.cuda.is_available()


NO_GPU = pytest.mark.skipif(_cuda(), reason="a GPU is here: --device cuda is no error")


def _latents(w, **kw):
    return Generator.load(w.toy).sample_latent(**kw)


R = "{run} --runs-dir {runs}"  # a run id and where it lives
CASES = [  # id, CLI (or "api"), arguments (or a call), exit status (or exception), words of the message
    ("inf-n-negative", "inference", "{toy} --n -1 --out {work}/x.png", 2, "--n must be at least 1, got -1"),
    ("inf-n-huge", "inference", "{toy} --n 100000000 --out {work}/x.png", 2, "the limit is 2.0 GiB per array"),
    ("inf-scale-huge", "inference", "{toy} --scale 100000 --out {work}/x.png", 2, "or --scale"),
    ("inf-steps-huge", "inference", "{toy} --interpolate 1 2 --steps 100000000 --gif {work}/x.gif", 2, "the limit is"),
    ("inf-steps-float", "inference", "{toy} --interpolate 1 2 --steps 1e8 --gif {work}/x.gif", 2, "invalid int value"),
    ("inf-gif-as-png", "inference", "{toy} --interpolate 1 2 --gif {work}/x.png", 2, "must end in .gif (e.g."),
    ("inf-png-as-gif", "inference", "{toy} --out {work}/x.gif", 2, "must end in .png"),
    ("inf-seed-negative", "inference", "{toy} --seed -1 --out {work}/x.png", 2, "--seed must be between 0 and 9,007,"),
    ("inf-truncation", "inference", "{toy} --truncation 2 --out {work}/x.png", 2, "--truncation must be between 0"),
    ("inf-scale-zero", "inference", "{toy} --scale 0 --out {work}/x.png", 2, "--scale must be at least 1"),
    ("inf-steps-one", "inference", "{toy} --interpolate 1 2 --steps 1 --gif {work}/x.gif", 2, "--steps must be at"),
    ("inf-one-seed", "inference", "{toy} --interpolate 1 --gif {work}/x.gif", 2, "at least two seeds"),
    ("inf-gif-alone", "inference", "{toy} --gif {work}/x.gif", 2, "--gif needs --interpolate"),
    ("inf-missing-model", "inference", "{work}/missing.onnx --info", 2, "model file not found"),
    ("inf-model-is-dir", "inference", "{work} --info", 2, "not a file"),
    ("inf-not-onnx", "inference", "{work}/garbage.onnx --info", 2, "not a valid ONNX file"),
    ("inf-label-uncond", "inference", "{toy} --label 1 --out {work}/x.png", 2, "unconditional"),
    ("inf-label-range", "inference", "{cond} --label 7 --out {work}/x.png", 2, "out of range"),
    ("inf-out-in-a-file", "inference", "{toy} --out {work}/afile/x.png", 2, "is a file, not a folder"),
    ("inf-out-is-dir", "inference", "{toy} --out {work}/adir.png", 2, "is a folder"),
    ("inf-nrow-zero", "inference", "{toy} --nrow 0 --out {work}/x.png", 2, "--nrow must be at least 1"),
    ("inf-duration", "inference", "{toy} --interpolate 1 2 --duration-ms 0 --gif {work}/x.gif", 2, "--duration-ms"),
    ("inf-device", "inference", "{toy} --device tpu", 2, "invalid choice"),
    ("eval-seed-negative", "evaluation", "{shipped} --seed -1", 2, "seed (--seed) must be a whole number from 0 to"),
    ("eval-n-small", "evaluation", "{shipped} --n 5", 2, "from 10 to 100,000, got 5"),
    ("eval-n-huge", "evaluation", "{shipped} --n 100000000", 2, "from 10 to 100,000"),
    # no evaluator network: Inception-v3 features, refused here for want of the network or of the data
    ("eval-cifar10", "evaluation", "{shipped} --dataset cifar10 --n 10", 2, "cifar10"),
    ("eval-dataset", "evaluation", "{shipped} --dataset nope", 2, "unknown dataset 'nope'"),
    ("eval-card-dataset", "evaluation", "{toy}", 2, "unknown dataset 'toy-mnist'"),
    ("eval-json-suffix", "evaluation", "{shipped} --json {work}/r.txt", 2, "must end in .json"),
    ("eval-evaluator", "evaluation", "{shipped} --evaluator {work}/none.onnx", 2, "no such evaluator file"),
    ("eval-missing", "evaluation", "{work}/missing.onnx", 2, "model file not found"),
    ("eval-kid", "evaluation", "{shipped} --kid-subsets 0", 2, "kid_subsets (--kid-subsets) must be"),
    ("train-preset-path", "training", "train --preset /etc/passwd --runs-dir {runs}", 2, "pass --config /etc/passwd"),
    ("train-preset-rel", "training", "train --preset ../presets/dcgan-mnist --runs-dir {runs}", 2, "not a file"),
    ("train-preset-name", "training", "train --preset dcgan-mnst --runs-dir {runs}", 2, "Did you mean 'dcgan-mnist'"),
    ("train-no-preset", "training", "train --runs-dir {runs}", 2, "name a preset (--preset NAME"),
    ("train-config-none", "training", "train --config {work}/none.yaml --runs-dir {runs}", 2, "does not exist"),
    ("train-config-dir", "training", "train --config {work} --runs-dir {runs}", 2, "is a folder"),
    ("train-config-list", "training", "train --config {work}/list.yaml --runs-dir {runs}", 2, "must hold a mapping"),
    ("train-config-yaml", "training", "train --config {work}/bad.yaml --runs-dir {runs}", 2, "is not valid YAML"),
    ("train-5-images", "training", "train --preset dcgan-folder --data-root {five} --runs-dir {runs}", 2,
     "batch_size 64 is larger than the 5 images of folder here: lower it (e.g. --set batch_size=5)"),
    ("train-runs-file", "training", "train --preset gan-mlp-mnist --runs-dir {work}/afile", 2, "is a file, not a folder"),
    pytest.param("train-cuda", "training", "train --preset gan-mlp-mnist --device cuda --runs-dir {runs}", 2,
                 "no usable GPU", marks=NO_GPU),
    ("train-set-type", "training", "train --preset gan-mlp-mnist --set batch_size=x --runs-dir {runs}", 2,
     "batch_size must be a whole number"),
    ("resume-past", "training", f"resume {R} --set steps=5", 2, "already at step 10, past steps=5"),
    ("resume-finished", "training", f"resume {R}", 2, "at its total of 10 steps: nothing to train"),
    pytest.param("resume-cuda", "training", f"resume {R} --device cuda", 2, "no usable GPU", marks=NO_GPU),
    ("resume-unknown", "training", "resume no-such-run --runs-dir {runs}", 2, "no run 'no-such-run'"),
    ("encoder-cond", "training", "train-encoder {cond} --steps 1", 2, "train-encoder supports unconditional generators only"),
    ("encoder-missing", "training", "train-encoder {work}/none.onnx", 2, "no such model file"),
    ("encoder-steps", "training", "train-encoder {toy} --steps 0", 2, "--steps must be an integer >= 1"),
    ("resume-key", "training", f"resume {R} --set stepz=20", 2, "unknown config key 'stepz'"),
    ("resume-batch", "training", f"resume {R} --set steps=20 --set batch_size=64", 2, "larger than the 32 images"),
    ("export-exists", "training", f"export {R} --out {{shipped}}", 2, "pass --force to replace"),
    ("export-suffix", "training", f"export {R} --out {{work}}/g.txt", 2, "must end in .onnx"),
    ("export-best", "training", f"export {R} --checkpoint best", 2, "no best.pt"),
    ("evaluate-seed", "training", "evaluate {shipped} --seed -1", 2, "seed (--seed) must be"),
    ("evaluate-cifar10", "training", "evaluate {shipped} --dataset cifar10 --n 10", 2, "no cifar10 images to score against"),
    ("evaluate-no-card", "training", f"evaluate {R} --update-card", 2, "no model card"),
    ("evaluate-json", "training", f"evaluate {R} --json {{work}}/r.txt", 2, "must end in .json"),
    ("evaluate-nothing", "training", "evaluate", 2, "name a model"),
    ("runs-file", "training", "runs --runs-dir {work}/afile", 2, "is a file, not a folder"),
    ("train-evaluator-cifar", "training", "train-evaluator --dataset cifar10", 2, "invalid choice"),
    ("api-load-missing", "api", lambda w: Generator.load(w.work / "none.onnx"), InferenceError, "model file not found"),
    ("api-n-negative", "api", lambda w: _latents(w, n=-1), InferenceError, "n must be an integer >= 1"),
    ("api-n-huge", "api", lambda w: _latents(w, n=10**9), InferenceError, "the limit is 2.0 GiB"),
    ("api-seed", "api", lambda w: _latents(w, n=4, seed=-1), InferenceError, "seed must be an integer >= 0"),
    ("api-latent-shape", "api", lambda w: Generator.load(w.toy).generate(np.zeros((2, 3))), InferenceError, "[N, 16]"),
    ("api-run-huge", "api", lambda w: Generator.load(w.toy).run(np.zeros((10**6, 16), np.float32)), InferenceError,
     "run them in smaller batches"),
    ("api-steps-huge", "api", lambda w: Generator.load(w.toy).interpolate(_latents(w, n=2), steps=10**9),
     InferenceError, "ask for fewer steps"),
    ("api-gif-suffix", "api", lambda w: save_gif(np.zeros((2, 4, 4, 1), np.uint8), w.work / "a.png"), InferenceError,
     "must end in .gif"),
    ("api-png-suffix", "api", lambda w: save_png(np.zeros((4, 4, 1), np.uint8), w.work / "a.gif"), InferenceError,
     "must end in .png"),
    ("api-upscale-huge", "api", lambda w: upscale(np.zeros((2, 4, 4, 1), np.uint8), 100_000), InferenceError,
     "use a smaller scale"),
    ("api-upscale-zero", "api", lambda w: upscale(np.zeros((2, 4, 4, 1), np.uint8), 0), InferenceError, ">= 1"),
    ("api-eval-n", "api", lambda w: evaluate_model(w.shipped, n=5), EvaluationError, "from 10 to 100,000"),
    ("api-eval-seed", "api", lambda w: evaluate_model(w.shipped, seed=-1), EvaluationError, "seed (--seed)"),
    ("api-eval-cifar", "api", lambda w: evaluate_model(w.shipped, dataset="cifar10", n=10), EvaluationError, "cifar10"),
    ("api-eval-missing", "api", lambda w: evaluate_model(w.work / "none.onnx"), EvaluationError, "not found"),
    ("api-eval-card", "api", lambda w: evaluate_model(w.toy), EvaluationError, "unknown dataset 'toy-mnist'"),
    ("api-config-list", "api", lambda w: configs.load_config_file(w.work / "list.yaml"), configs.ConfigError,
     "mapping"),
    ("api-preset-path", "api", lambda w: configs.load_preset("/etc/passwd"), configs.ConfigError, "--config"),
]


@pytest.mark.parametrize("command, args, expected, words",
                         [pytest.param(*values[1:], marks=marks, id=values[0]) for values, marks in map(case_parts, CASES)])
def test_a_bad_input_gets_one_clear_line_and_changes_nothing(world, capsys, restore_logging, command, args, expected, words):
    before = file_hashes(world.root)
    if command == "api":
        with pytest.raises(expected) as caught:
            args(world)
        message = str(caught.value)
    else:
        code, out, err = call(MAINS[command], shlex.split(args.format(**world.names)), capsys)
        assert "Traceback" not in out + err, err
        assert code == expected, (code, err)
        message = error_line(err)
    assert words in message
    assert file_hashes(world.root) == before, "a refused input changed files"


def test_the_catalogue_covers_every_command_line_and_api():
    kinds = [case_parts(case)[0][1] for case in CASES]
    assert len(CASES) >= 40 and set(kinds) == {"inference", "evaluation", "training", "api"}


def test_debug_shows_the_traceback_and_a_bug_says_it_is_one(capsys, monkeypatch):
    code, _, err = call(inference_main, ["missing.onnx", "--debug"], capsys)
    assert code == 2 and "Traceback" in err and err.strip().splitlines()[-1].startswith("error: model file not found")
    code, _, err = call(training_main, ["resume", "nope", "--runs-dir", "nowhere", "--debug"], capsys)
    assert code == 2 and "Traceback" in err and err.strip().splitlines()[-1].startswith("error: no run 'nope'")
    monkeypatch.setenv("GAN_STUDIO_DEBUG", "1")
    code, _, err = call(evaluation_main, ["missing.onnx"], capsys)
    assert code == 2 and "Traceback" in err
    monkeypatch.delenv("GAN_STUDIO_DEBUG")

    def broken(args):
        raise KeyError("a slip in our code")

    code, _, err = call(lambda argv: run_cli(Parser(prog="x"), argv, broken), [], capsys)
    assert code == 1 and "Traceback" in err and "KeyError" in err and err.strip().endswith(BUG_LINE)
    assert "this is a bug in GAN Studio" in BUG_LINE


def test_the_evaluator_advice_names_only_datasets_train_evaluator_takes():
    from evaluation.scoring import EVALUATOR_RECIPES
    from training.auxiliary.evaluator_net import EVALUATOR_DATASETS  # torch: the recipes live with the network

    # a folder's evaluator adds its class logits to the Inception features the folder is scored in
    assert EVALUATOR_RECIPES == tuple(d for d in EVALUATOR_DATASETS if d != "folder")
