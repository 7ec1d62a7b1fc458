"""Words and tables the pages share, built from model cards (no streamlit here)."""

from __future__ import annotations

__all__ = ["NOTICE", "models_table", "headline_metric"]

NOTICE = (
    "Decision support, not a diagnosis. These models assist a qualified clinician, who reviews "
    "every result; they are not medical devices and have not been clinically validated."
)


def headline_metric(card: dict) -> str:
    """The card's headline validation metric as text, e.g. 'AUC 0.981 (val, n=524)'."""
    metrics = card.get("metrics", {}).get("validation", {})
    for key, label in (("auc", "AUC"), ("accuracy", "accuracy"), ("ndcg@10", "NDCG@10")):
        if key in metrics:
            return f"{label} {metrics[key]:.3f} (val, n={metrics.get('n', '?')})"
    return "-"


def models_table(cards: list[dict]):
    """One row per model: name, task, headline metric, intended use (pandas DataFrame)."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "model": c["name"],
                "task": c["task"],
                "headline metric": headline_metric(c),
                "intended use": c["intended_use"],
                "version": c["version"],
            }
            for c in cards
        ]
    )
