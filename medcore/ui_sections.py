"""Streamlit sections several pages share (the second module that imports streamlit).

Each function draws one finished section from a bundle's card and evaluation.json, so pages
stay thin and every page shows a model's evidence the same way.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from medcore import plots, read_evaluation

__all__ = ["evaluation_charts"]


def evaluation_charts(card: dict, key: str) -> None:
    """Confusion matrix, per-class metrics, reliability and ROC of a model's validation run."""
    evaluation = read_evaluation(card["name"])
    metrics = card["metrics"]["validation"]
    shown = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    st.caption(
        f"Validation split, n={metrics.get('n', '?')}: "
        + ", ".join(f"{k} {v:.3f}" for k, v in shown.items() if k != "n")
    )
    labels = card["labels"]
    if "confusion_matrix" in evaluation:
        st.plotly_chart(
            plots.confusion_matrix_figure(evaluation["confusion_matrix"], labels, normalise=True), key=f"{key}-cm"
        )
    if "per_class" in evaluation:
        st.dataframe(pd.DataFrame(evaluation["per_class"]).round(3), hide_index=True, key=f"{key}-pc")
    left, right = st.columns(2)
    if "reliability" in evaluation:
        with left:
            st.plotly_chart(
                plots.reliability_figure(
                    evaluation["reliability"],
                    evaluation.get("reliability_before"),
                    card["calibration"].get("validation_after", {}).get("ece"),
                    card["calibration"].get("validation_before", {}).get("ece"),
                ),
                key=f"{key}-rel",
            )
    if evaluation.get("roc"):
        with right:
            st.plotly_chart(plots.roc_figure(evaluation["roc"]), key=f"{key}-roc")
