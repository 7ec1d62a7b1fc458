"""Words and tables the pages share, built from model cards (no streamlit here)."""

from __future__ import annotations

import hashlib

__all__ = [
    "NOTICE",
    "COUNT_OF",
    "count_of",
    "format_figure",
    "comparison_table",
    "models_table",
    "headline_metric",
    "own_vs_shipped",
    "percent",
    "training_file_note",
]

NOTICE = (
    "Decision support, not a diagnosis. These models assist a qualified clinician, who reviews "
    "every result; they are not medical devices and have not been clinically validated."
)


_HEADLINE = {
    "image": ("auc", "AUC"),
    "recommender": ("ndcg@10", "NDCG@10"),
    "survival": ("c_index", "C-index"),
    "molecule": ("auc", "mean AUC"),
    "literature": ("cid_f1", "CID relation F1 (end to end)"),
    "dosing": ("mae", "MAE (mg/week)"),
    "segmentation": ("dice", "Dice (images with a lesion)"),
    "assessment": ("triage_accuracy", "triage accuracy (test vignettes)"),
}
_LABELS = {
    "auc": "AUC",
    "accuracy": "accuracy",
    "ndcg@10": "NDCG@10",
    "hr@10": "HR@10",
    "c_index": "C-index",
    "rmse": "RMSE",
}


# Figures counted over part of the held-out set, and the count behind each (the others use ``n``).
COUNT_OF = {
    "dice": "n_lesion_images",
    "iou": "n_lesion_images",
    "normal_false_area": "n_normal_images",
    "normal_left_empty": "n_normal_images",
}


def count_of(metrics: dict, key: str):
    """The n behind figure ``key``: its own count when it covers part of the set (``COUNT_OF``), else ``n``."""
    return metrics.get(COUNT_OF.get(key, "n"), metrics.get("n"))


def format_figure(metrics: dict, key: str, label: str | None = None) -> str:
    """One figure with its 95 % interval and n, e.g. 'AUC 0.930 (95 % CI 0.874-0.978, n=78)'."""
    value = metrics.get(key)
    if not isinstance(value, (int, float)):
        return "-"
    interval = metrics.get(f"{key}_ci95")
    detail = f"95 % CI {interval[0]:.3f}-{interval[1]:.3f}, " if interval and None not in interval else "no interval, "
    return f"{label or _LABELS.get(key, key)} {value:.3f} ({detail}n={count_of(metrics, key) or '?'})"


def headline_metric(card: dict) -> str:
    """The card's headline held-out figure with its interval and n, e.g. 'AUC 0.930 (95 % CI 0.874-0.978, n=78)'."""
    metrics = card.get("metrics", {}).get("validation", {})
    key, label = _HEADLINE.get(card.get("kind", ""), ("accuracy", "accuracy"))
    if key not in metrics:
        key = next((k for k in ("auc", "accuracy", "ndcg@10", "rmse") if k in metrics), key)
        label = _LABELS.get(key, key)
    return format_figure(metrics, key, label)


def models_table(cards: list[dict]):
    """One row per model: name, task, headline metric, intended use (pandas DataFrame)."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "model": c["name"],
                "task": c["task"],
                "headline figure (held-out data)": headline_metric(c),
                "intended use": c["intended_use"],
                "version": c["version"],
            }
            for c in cards
        ]
    )


def _flatten(metrics: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[f"{prefix}{key}"] = value
    return flat


def comparison_table(card: dict):
    """The shipped model beside the alternatives its card records, with the same metrics.

    Reads the layouts the trainers write: image ``member_auc`` (each ensemble member alone),
    recommender ``baselines`` (name -> metrics), and ``baseline*`` entries (one alternative).

    Returns:
        A pandas DataFrame (one row per model, one column per metric), or None when the card
        records no alternative.
    """
    import pandas as pd

    validation = card.get("metrics", {}).get("validation", {})
    shipped = {
        k: v
        for k, v in _flatten({k: v for k, v in validation.items() if not k.startswith("baseline")}).items()
        if not k.startswith(("popularity ", "n_"))
    }
    rows = [{"model": f"{card['name']} (shipped)", **shipped}]
    alone = card.get("member_auc_note", "each member alone")
    for index, auc in enumerate(validation.get("member_auc", [])):
        rows.append({"model": f"member {index + 1}: {alone}", "auc": auc})
    for name, metrics in validation.get("baselines", {}).items():
        rows.append({"model": name, **_flatten(metrics)})
    for key, metrics in validation.items():
        if key.startswith("baseline") and key != "baselines" and isinstance(metrics, dict):
            rows.append({"model": metrics.get("method", key), **_flatten(metrics)})
    if len(rows) == 1:
        return None
    table = pd.DataFrame(rows).set_index("model")
    return table[[c for c in table.columns if table[c].notna().sum() > 1 or c in ("auc", "accuracy")]].round(4)


_OPERATING_METRICS = ("threshold", "sensitivity", "specificity", "ppv", "npv")


def own_vs_shipped(card: dict, result: dict):
    """The user's evaluation beside the card's validation figures, metric by metric.

    Args:
        card: the model's card.
        result: ``medcore.core.evaluate.evaluate_upload`` output on the user's data.

    Returns:
        A pandas DataFrame with rows 'your data' and 'shipped (held-out data of its card)' and the numeric
        metrics both share; for binary models with a threshold, sensitivity, specificity, PPV
        and NPV at that threshold too; for the recommender, the popularity baseline's rows.
    """
    import pandas as pd

    validation = card.get("metrics", {}).get("validation", {})
    shared = [k for k, v in result.items() if isinstance(v, (int, float)) and k in validation]
    rows = {
        "your data": {k: result[k] for k in shared},
        "shipped (held-out data of its card)": {k: validation[k] for k in shared},
    }
    own_point = result.get("operating_point")
    if own_point:
        point = card.get("operating_point", {})  # cross-fitted decisions where the card has them (honest)
        shipped_point = {**point.get("validation", {}), **point.get("cross_fitted", {})}
        rows["your data"].update({k: own_point.get(k) for k in _OPERATING_METRICS})
        rows["shipped (held-out data of its card)"].update({k: shipped_point.get(k) for k in _OPERATING_METRICS})
    popularity = result.get("baseline", {}).get("popularity")
    if popularity:
        rows["popularity baseline (your data)"] = {"n": result["n"], **popularity}
        rows["popularity baseline (validation)"] = {
            "n": validation.get("n"),
            **{k: validation.get(f"popularity {k}") for k in popularity},
        }
    table = pd.DataFrame(rows).T.astype(float)
    table.index.name = "evaluated on"
    return table.round(4).astype({"n": "Int64"})


def training_file_note(card: dict, data: bytes | None) -> str | None:
    """The warning for an evaluation file that is the model's own training file (its sha256 is the card's
    ``training.data_sha256``), else None. Figures on it are in-sample, not new evidence."""
    if not isinstance(data, (bytes, bytearray)):
        return None
    if hashlib.sha256(bytes(data)).hexdigest() != card.get("training", {}).get("data_sha256"):
        return None
    return (
        "This is the model's own training file: these figures are in-sample and optimistic, not new evidence. "
        "The card's figures are cross-validated or held out."
    )


def percent(p: float) -> str:
    """A probability as a percentage a reader cannot misread: "< 0.1 %" and "> 99.9 %" at the ends."""
    if p < 0.001:
        return "< 0.1 %"
    if p > 0.999:
        return "> 99.9 %"
    return f"{100 * p:.1f} %"
