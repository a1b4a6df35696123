"""The Markdown model card: what a model hub shows (``README.md`` in a ``--hub`` folder, ``NAME.md``
beside an exported ``NAME.onnx``), rendered from the JSON card that export and upgrade keep.

YAML front matter in the hubs' vocabulary (licence, ``pipeline_tag``, datasets, tags, and a
``model-index`` whose every metric names its protocol: the feature network, the reference split,
the sample counts), then prose: the files, how to run and fine-tune the model, how it was trained,
its scores, where its weights come from, and the licences of what it was trained on. The front
matter parses with ``yaml.safe_load``.
"""
from __future__ import annotations

from pathlib import PurePath
from typing import Any

import yaml

from evaluation.metrics import METRICS

# The hub's dataset ids and what the datasets' authors say about their use.
DATASETS = {
    "mnist": ("ylecun/mnist", "MNIST", "Y. LeCun, C. Cortes and C. J. C. Burges; its authors state no licence"),
    "fashion-mnist": ("zalando-datasets/fashion_mnist", "Fashion-MNIST", "Zalando SE, 2017, MIT licence"),
    "stacked-mnist": ("ylecun/mnist", "Stacked MNIST (three MNIST digits as colour channels)",
                      "built from MNIST: Y. LeCun, C. Cortes and C. J. C. Burges; its authors state no licence"),
    "cifar10": ("uoft-cs/cifar10", "CIFAR-10", "A. Krizhevsky, V. Nair and G. Hinton; its authors state no licence"),
    "svhn": ("ufldl-stanford/svhn", "SVHN", "Y. Netzer et al., Stanford; for non-commercial use only, its site says"),
}
NO_DISCRIMINATOR = "not kept for this model; fine-tuning starts D from scratch"
CLASS_METRICS = ("classes_covered", "class_kl", "label_accuracy", "classifier_score", "classifier_score_std",
                 "modes_captured", "mode_kl")
PROJECT_LICENCE = ("GAN Studio states no licence for its code or the models it trains: ask its authors before "
                   "you reuse this model. The training data keeps its own terms (below).")


def markdown_card(card: dict[str, Any], sample_image: str | None = None, weights: dict | None = None) -> str:
    """The Markdown card of the model whose JSON card is ``card``; ``weights`` (per net: file, sha256,
    source, or a note) replaces the card's own ``weights`` entry; ``sample_image`` is shown when given."""
    if weights is not None:
        card = {**card, "weights": weights}
    return "---\n" + yaml.safe_dump(front_matter(card), sort_keys=False, allow_unicode=True, width=1000) + "---\n\n" \
        + prose(card, sample_image)


def front_matter(card: dict[str, Any]) -> dict[str, Any]:
    meta = card["metadata"]
    dataset = DATASETS.get(meta.get("dataset", ""))
    tags = ["gan", meta.get("architecture", ""), meta.get("loss", ""), "onnx", "safetensors", "pytorch", "gan-studio"]
    if meta.get("num_classes"):
        tags.append("class-conditional")
    front: dict[str, Any] = {"license": "other", "license_name": "unspecified", "license_link": "README.md",
                             "pipeline_tag": "unconditional-image-generation",
                             "tags": [t for t in dict.fromkeys(tags) if t]}
    if dataset:
        front["datasets"] = [dataset[0]]
    results = metric_results(meta.get("metrics") or {})
    if results:
        front["model-index"] = [{"name": card.get("name", "generator"), "results": [{
            "task": {"type": "unconditional-image-generation", "name": "Image generation"},
            "dataset": {"type": dataset[0] if dataset else meta.get("dataset", "?"),
                        "name": dataset[1] if dataset else meta.get("dataset", "?"),
                        "split": "test" if dataset else "train"},  # a folder is scored against the images it learned
            "metrics": results}]}]
    return front


def metric_results(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One model-index metric per stored score, each with its protocol (from the score's provenance)."""
    scores = record.get("metrics") if isinstance(record.get("metrics"), dict) else {}
    inception = record.get("inception") if isinstance(record.get("inception"), dict) else None
    results = []
    for key, value in scores.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        source = inception if key == "fid_inception" and inception else record
        results.append({"type": key, "name": _label(key, source), "value": round(float(value), 6),
                        "verified": False, "args": {"protocol": protocol(source, key)}})
    return results


def _network(record: dict[str, Any]) -> str:
    return str(record.get("feature_network") or "unnamed features").split(" sha256:")[0]


def _label(key: str, record: dict[str, Any]) -> str:
    if key == "fid":  # the registry's label covers both feature spaces; a card names the one it used
        return "FID (Inception-v3 features)" if _network(record).startswith("Inception") else "FID (evaluator CNN features)"
    score = METRICS.score(key)
    return score.label if score else key


def protocol(record: dict[str, Any], key: str) -> str:
    """How a score was measured, in one line: the features, the samples and what they were compared with."""
    network = _network(record)
    if key == "fid_inception":
        head, tail = "Inception-v3 pool3 FID (Lucic et al.'s protocol)", f"; features: {network}"
    elif key in CLASS_METRICS:
        head, tail = f"classes predicted by {network.split(':')[0]}", ""
    else:
        head, tail = f"in {network} features" if ":" not in network else f"in {network}", ""
    generated, reference = record.get("n_generated"), record.get("reference") or "an unnamed reference"
    samples = f"{generated:,} generated samples" if isinstance(generated, int) else "generated samples"
    if record.get("n_stacked_images"):
        samples += f" ({record['n_stacked_images']:,} stacked images, scored digit by digit)"
    source = f", {record['source']}," if record.get("source") and key != "fid_inception" else ""
    return f"{head}: {samples}{source} vs {reference}{tail}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")  # a bare | would end the table cell


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else "?"


def _file_rows(card: dict[str, Any], sample_image: str | None) -> list[str]:
    name, weights = card.get("name", "generator"), card.get("weights") or {}
    rows = [f"| `{name}.onnx` | the generator: input `z` float32 [N, {card['metadata'].get('latent_dim')}]"
            + (", `label` int64 [N]" if card["metadata"].get("num_classes") else "")
            + ", output `image` float32 [N, C, H, W]; its metadata inside |",
            f"| `{name}.json` | the card as JSON: the same metadata, how it was trained, its scores |"]
    for role in ("generator", "discriminator"):
        entry = weights.get(role) or {}
        if entry.get("file"):
            rows.append(f"| `{entry['file']}` | the {role}'s PyTorch weights (state_dict), with the config that "
                        "rebuilds the net in its header |")
    if sample_image:
        rows.append(f"| `{sample_image}` | samples of seed 0 |")
    return rows


def prose(card: dict[str, Any], sample_image: str | None = None) -> str:
    meta, training, weights = card["metadata"], card.get("training") or {}, card.get("weights") or {}
    name = card.get("name", "generator")
    shape = "x".join(str(d) for d in meta.get("image_shape", []))
    classes = meta.get("num_classes") or 0
    clustered = bool(meta.get("class_prior"))
    if clustered:
        kind = (f"trained without labels, conditioned on {classes} clusters it found in its images and drawn in "
                "their proportions")
    elif classes:
        kind = f"class-conditional ({classes} classes: {', '.join(map(str, meta.get('class_names', [])))})"
    else:
        kind = "unconditional"
    labels = ", labels=g.sample_labels(16, seed=0)" if clustered else ", labels=list(range(16))" if classes else ""
    data = meta.get("dataset")
    folder = (training.get("config") or {}).get("data_root")
    if data == "folder" and isinstance(folder, str) and folder:
        data = f"the folder `{PurePath(folder).name}`"
    lines = [f"# {name}", "",
             f"A {meta.get('architecture')} generator of {shape} images ({kind}), trained on {data} "
             f"with the {meta.get('loss')} loss for {_count(meta.get('train_steps'))} steps by GAN Studio.", ""]
    if sample_image:
        lines += [f"![samples of seed 0]({sample_image})", ""]
    lines += ["## Files", "", "| file | what it holds |", "|---|---|", *_file_rows(card, sample_image), "",
              "## Use", "",
              f"z is float32 `[N, {meta.get('latent_dim')}]`, {meta.get('latent_distribution')}"
              + (f" ({'clipped to' if meta.get('latent_distribution') == 'normal' else 'in'} +-{meta['latent_bound']})"
                 if meta.get("latent_bound") else "")
              + f"; the image comes out in {tuple(meta.get('output_range', ()))}. "
              f"Seeds name the `{meta.get('latent_scheme')}` latents of GAN Studio's contract.", "",
              "```python", "from inference import Generator  # numpy + onnxruntime, no torch",
              f'g = Generator.load("{name}.onnx")',
              f"images = g.generate(g.sample_latent(16, seed=0){labels})  # uint8 [16, H, W, C]", "```", "",
              "Fine-tune it on your own images (FreezeD keeps D's first layers as they are; see GAN Studio's "
              "docs/training.md):", "", "```bash",
              f"python -m training train --preset {training.get('preset') or 'PRESET'} --init-from "
              f"{(weights.get('generator') or {}).get('file') or name + '.generator.safetensors'}"
              + (" --freeze-d 1" if (weights.get("discriminator") or {}).get("file") else ""), "```", "",
              "## Training", "",
              f"- command: `{meta.get('training_command')}`",
              f"- steps: {_count(training.get('steps', meta.get('train_steps')))}, images seen: {_count(training.get('images_seen'))}",
              f"- wall time: {training.get('wall_time_s', '?')} s on {training.get('machine', '?')}"
              + (f", {training['precision']}" if training.get("precision") else ""),
              f"- weights exported: {training.get('weights', '?')} (EMA: the moving average of G's weights)"]
    if (config := training.get("config") or {}).get("init_from"):
        lines.append(f"- started from: `{config['init_from']}` (sha256 {config.get('init_from_sha256') or '?'})")
    lines += ["", "## Scores", ""]
    results = metric_results(meta.get("metrics") or {})
    if results:
        lines += ["| score | value | protocol |", "|---|---:|---|"]
        lines += [f"| {_cell(r['name'])} | {r['value']:.4g} | {_cell(r['args']['protocol'])} |" for r in results]
    else:
        lines.append("Not scored yet: `python -m training evaluate NAME.onnx --update-card` scores it.")
    lines += ["", "## Weights", ""]
    for role in ("generator", "discriminator"):
        entry = weights.get(role) or {}
        if entry.get("file"):
            lines.append(f"- {role} weights: `{entry['file']}`, {entry.get('source', '')} (sha256 {entry.get('sha256', '?')})")
        else:
            lines.append(f"- {role} weights: {entry.get('note') or 'not written'}")
    dataset = DATASETS.get(meta.get("dataset", ""))
    data_terms = f"{dataset[1]}: {dataset[2]}." if dataset else "Your own images: their licence is yours to state."
    lines += ["", "## Licence", "", PROJECT_LICENCE, "", f"- {data_terms}", ""]
    return "\n".join(lines)
