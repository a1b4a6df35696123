"""``python -m training evaluate`` and ``train-evaluator``: the commands that score, checked before
any sample is drawn. A plain evaluate of an exported file writes its report only where ``--json``
says: what ships beside a model (its card, its ``.eval.json``) changes only with ``--update-card``.
"""
from __future__ import annotations

import logging
from pathlib import Path

from studio.cli import UsageError, check_output_file
from training.log_setup import setup_logging
from training.runfolder.files import atomic_write_json
from training.runfolder.folder import find_run

log = logging.getLogger("training")


def _card_of(args) -> Path | None:
    """The model card ``--update-card`` would rewrite, checked before any work."""
    if args.model.endswith(".onnx"):
        card = Path(args.model).with_suffix(".json")
    else:
        card = find_run(args.model, Path(args.runs_dir)).card_path
    if not card.is_file():
        raise UsageError(f"no model card {card} to update for {args.model}: export the run first "
                         "(`python -m training export RUN`), or leave out --update-card.")
    return card


def _check(args) -> None:
    # evaluation.scoring pulls in onnxruntime and scipy, training.evaluate torch: only evaluate needs them
    from evaluation.scoring import check_request
    from training.evaluate import card_metrics, ensure_feature_network

    ensure_feature_network(args.dataset, args.evaluator)
    check_request(args.n, args.seed, args.dataset, args.evaluator, args.kid_subsets, args.inception_n)
    if args.json:
        check_output_file(args.json, "--json", (".json",), force=args.force, inputs=[args.model])
    if args.model.endswith(".onnx") and not Path(args.model).is_file():
        raise UsageError(f"model file not found: {args.model}")
    if not args.model.endswith(".onnx"):
        find_run(args.model, Path(args.runs_dir))
    if args.update_card:
        card_metrics(_card_of(args))  # a card that cannot be read fails here, not after the evaluation


def cmd_evaluate(args) -> int:
    # torch, onnxruntime and scipy: only the evaluate command needs them
    from evaluation import format_table
    from training.evaluate import evaluate_target, update_card
    from training.export.inception import export_inception_onnx  # torch as well

    setup_logging(None, True)
    if args.model is None:
        if not args.inception:
            raise UsageError("name a model (.onnx) or a run, or pass --inception alone to export the Inception network")
        print(export_inception_onnx())
        return 0
    _check(args)
    report, json_path, card = evaluate_target(
        args.model, dataset=args.dataset, n=args.n, seed=args.seed, inception=args.inception,
        inception_n=args.inception_n, runs_dir=args.runs_dir, data_root=args.data_root,
        evaluator=args.evaluator, progress=lambda text: log.info(text), kid_subsets=args.kid_subsets)
    print(format_table(report))
    # beside an exported model only with --update-card; a run's own eval.json is the run's
    if args.json or not args.model.endswith(".onnx") or args.update_card:
        json_path = Path(args.json) if args.json else json_path
        json_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(json_path, report)
        print(f"\nwrote {json_path}")
    if args.update_card:
        print("\n".join(update_card(_card_of(args), report)))
    return 0


def cmd_train_evaluator(args) -> int:
    from training.auxiliary.evaluator_net import EvaluatorError  # torch, which only this command needs
    from training.auxiliary.train_evaluator import main_train_evaluator

    if args.out:  # its card goes beside it
        out = Path(args.out)
        check_output_file(out, "--out", (".onnx",), force=args.force, replaces=[out.with_suffix(".json")],
                          model=True)
    setup_logging(None, True)
    try:
        return main_train_evaluator(args)
    except EvaluatorError as error:
        raise UsageError(str(error)) from None


def add_parsers(sub, runs_dir: str) -> None:
    p = sub.add_parser("evaluate", help="score a generator (.onnx) or a run: FID, KID, precision/recall, coverage")
    p.add_argument("model", nargs="?", help="an exported generator (.onnx) or a run id/folder (its last checkpoint); "
                   "left out with --inception: only export the Inception network (once, into the cache)")
    p.add_argument("--dataset", help="reference data (default: the model's or the run's); mnist, fashion-mnist and "
                   "stacked-mnist have evaluator networks, others (folder: --data-root DIR) are scored in Inception-v3 features")
    p.add_argument("--n", type=int, default=10000, help="generated samples (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    p.add_argument("--inception", action="store_true", help="also the paper-comparable Inception-v3 FID (slow on a CPU)")
    p.add_argument("--inception-n", type=int, help="samples for the Inception FID (default: --n)")
    p.add_argument("--evaluator", help="an evaluator .onnx other than exported/evaluators/DATASET-cnn.onnx")
    p.add_argument("--kid-subsets", type=int, default=100, help="KID subsets of 1000 (default 100; fewer is faster)")
    p.add_argument("--json", help="where to write the report (default: RUN/eval.json for a run; for an .onnx, "
                   "nowhere, or NAME.eval.json beside it with --update-card); never over a model's card or "
                   "report, a run's file or a shipped file")
    p.add_argument("--force", action="store_true", help="replace an existing --json file")
    p.add_argument("--update-card", action="store_true", help="write the scores into the model's metadata (in the "
                   ".onnx and its card) and the report beside it")
    p.add_argument("--data-root", help="folder holding the dataset")
    p.add_argument("--runs-dir", default=runs_dir)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("train-evaluator", help="train the classifier used for evaluation (MNIST, Fashion-MNIST or a "
                       "labelled folder), export it to ONNX",
                       description="Train the evaluator CNN and export it. A folder (--dataset folder --data-root DIR, "
                       "one subfolder per class, two classes or more) is read at --image-size with its transparency "
                       "composited over black; every 10th image of each class (sorted by path) is held out, and the "
                       "accuracy on those is reported and kept in the card. Score with it: `python -m evaluation "
                       "MODEL.onnx --dataset folder --data-root DIR --evaluator FILE` (label accuracy, class coverage).")
    p.add_argument("--dataset", required=True, choices=("mnist", "fashion-mnist", "folder"),
                   help="folder: a labelled folder of your own images (--data-root DIR); an unlabelled one is refused")
    p.add_argument("--epochs", type=int, help="default: 4 (mnist), 5 (fashion-mnist), 30 (folder)")
    p.add_argument("--image-size", type=int, help="folder only: the side its images are read and classified at "
                   "(default 32; generated images are resized to it)")
    p.add_argument("--out", help="default: a new file, exported/evaluators/DATASET-cnn-TIME.onnx, for a folder "
                   "folder-NAME-cnn-TIME.onnx (card beside it)")
    p.add_argument("--force", action="store_true", help="replace --out (and its card) if it exists; never a shipped "
                   "evaluator, whose hash is recorded with every score made with it")
    p.add_argument("--data-root", help="folder holding the dataset")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--fresh", action="store_true", help="ignore a checkpoint of an interrupted training")
    p.add_argument("--polish", type=int, default=0, help="extra epochs at a small decaying learning rate after the schedule (resumes from its checkpoint)")
    p.set_defaults(func=cmd_train_evaluator)
