"""Write a model bundle: model file(s), evaluation.json, card.json with sha256s, README.md.

Only ``python -m medcore train`` calls this; bundles are never edited by hand. The card's
``files`` maps every other file of the bundle to its sha256, and ``card_sha256`` is the sha256 of
the card's own content; ``registry`` checks both at load.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
from pathlib import Path

__all__ = ["REQUIRED_CARD_KEYS", "card_digest", "sha256_file", "framework_versions", "write_bundle", "render_readme"]

REQUIRED_CARD_KEYS = (
    "name",
    "version",
    "kind",
    "task",
    "description",
    "intended_use",
    "out_of_scope_use",
    "labels",
    "input",
    "preprocessing",
    "operating_point",
    "calibration",
    "training",
    "metrics",
    "framework_versions",
    "limitations",
    "ethical_considerations",
    "data_licence",
    "files",
)


def sha256_file(path: Path | str) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def card_digest(card: dict) -> str:
    """sha256 of the card's content (everything but ``card_sha256`` itself), as canonical JSON.

    The card's thresholds, temperatures, domain limits, labels and preprocessing decide what a
    model answers: they are model parameters, so an edited card is refused like an edited weight file.
    """
    content = {key: value for key, value in card.items() if key != "card_sha256"}
    canonical = json.dumps(json.loads(json.dumps(content)), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def framework_versions() -> dict[str, str]:
    """Versions of Python and the libraries a bundle was trained with."""
    import importlib.metadata as metadata

    versions = {"python": platform.python_version()}
    for package in ("tensorflow-cpu", "tensorflow", "keras", "scikit-learn", "numpy", "pillow", "pydicom"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def write_bundle(out_dir: Path, card: dict, evaluation: dict, staged_files: dict[str, Path]) -> Path:
    """Assemble a bundle folder, replacing any previous one.

    Args:
        out_dir: the bundle folder to write (``models/<name>``).
        card: the card without ``files``; ``framework_versions`` is filled in if missing.
        evaluation: what the evaluation page draws.
        staged_files: bundle file name -> a written file to move in (e.g. ``model.keras``).

    Returns:
        ``out_dir``.
    """
    out_dir = Path(out_dir)
    staging = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for file_name, source in staged_files.items():
        shutil.copyfile(source, staging / file_name)
    (staging / "evaluation.json").write_text(json.dumps(evaluation, indent=1) + "\n", encoding="utf-8")
    card = dict(card)
    card.setdefault("framework_versions", framework_versions())
    card["files"] = {}
    (staging / "README.md").write_text(render_readme(card), encoding="utf-8")
    card["files"] = {p.name: sha256_file(p) for p in sorted(staging.iterdir()) if p.name != "card.json"}
    missing = [key for key in REQUIRED_CARD_KEYS if key not in card]
    if missing:
        raise ValueError(f"card for '{card.get('name')}' lacks {missing}")
    card["card_sha256"] = card_digest(card)
    (staging / "card.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return out_dir


def _fmt(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def render_readme(card: dict) -> str:
    """The card in prose (Markdown), following Mitchell et al.'s model-card sections."""
    training = card["training"]
    lines = [
        f"# {card['name']} (version {card['version']})",
        "",
        f"{card['description']}",
        "",
        "> Decision support, not a diagnosis. A clinician must review every result.",
        "",
        "## Intended use",
        card["intended_use"],
        "",
        "## Out of scope",
        card["out_of_scope_use"],
        "",
        "## Input and preprocessing",
        f"- Input: {json.dumps({k: v for k, v in card['input'].items() if k != 'training_intensity'})}",
        f"- Preprocessing: {json.dumps(card['preprocessing'])}",
        f"- Labels: {', '.join(card['labels'])}",
        "",
        "## Training",
        f"- Data: {training['dataset']} (sha256 `{training['data_sha256']}`), licence: {card['data_licence']}",
        f"- Split: {training['split']}",
        f"- Seed {training['seed']}, {training.get('epochs', '-')} epochs at most, wall time {training.get('wall_time_s', 0):.0f} s",
        f"- Command: `{training.get('command', '')}`",
        "",
        "## Calibration and operating point",
        f"- Calibration: {json.dumps(card['calibration'])}",
        f"- Operating point: {json.dumps(card['operating_point'])}",
        "",
        "## Metrics (data the model never trained on)",
    ]
    for split_name, metrics in card["metrics"].items():
        shown = ", ".join(f"{k} {_fmt(v)}" for k, v in metrics.items() if not isinstance(v, (dict, list)))
        lines.append(f"- **{split_name}**: {shown}")
        for key, nested in metrics.items():  # a set of figures of its own, e.g. the full-size check
            if isinstance(nested, dict) and "n" in nested:
                shown = ", ".join(f"{k} {_fmt(v)}" for k, v in nested.items() if not isinstance(v, (dict, list)))
                lines.append(f"  - {key}: {shown}")
    small = card.get("small_input")
    if small:
        lines.append(
            f"- **small uploads** ({small['input']['shape'][0]} px network, {small['training']['dataset']}): "
            + ", ".join(
                f"{k} {_fmt(v)}" for k, v in small["metrics"]["validation"].items() if not isinstance(v, (dict, list))
            )
        )
    plan = card.get("care_plan")
    if plan:  # the care recommender's rules, written cases and directory
        lines += ["", "## Care plan"]
        for key, value in plan.items():
            if isinstance(value, dict):
                shown = "; ".join(
                    f"{k} {_fmt(v) if not isinstance(v, list) else '-'.join(_fmt(b) for b in v)}"
                    for k, v in value.items()
                    if v is not None and (not isinstance(v, list) or k.endswith("_ci95"))
                )
                lines.append(f"- **{key.replace('_', ' ')}**: {shown}")
            else:
                lines.append(f"- **{key.replace('_', ' ')}**: {_fmt(value)}")
    lines += ["", "## Limitations"] + [f"- {item}" for item in card["limitations"]]
    lines += ["", "## Ethical considerations"] + [f"- {item}" for item in card["ethical_considerations"]]
    lines += ["", "## Framework versions", ", ".join(f"{k} {v}" for k, v in card["framework_versions"].items()), ""]
    return "\n".join(lines)
