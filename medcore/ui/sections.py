"""Streamlit sections several pages share.

Each function draws one finished section from a bundle's card and evaluation.json, so pages
stay thin and every page shows a model's evidence the same way.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from medcore.care.plots import ranking_curves_figure
from medcore.core import plots
from medcore.core.registry import read_evaluation

__all__ = ["evaluation_charts", "model_card", "validation_charts", "threshold_explorer", "evaluation_result"]


def _bullets(items) -> str:
    return "\n".join(f"- {item}" for item in items) if isinstance(items, list) else str(items)


def model_card(card: dict) -> None:
    """The card in Mitchell et al.'s sections: details, uses, data, metrics, limits, ethics, versions."""
    training = card.get("training", {})
    st.markdown(f"### {card['name']} (version {card['version']})\n{card['description']}")
    details, uses = st.columns(2)
    with details:
        st.markdown("**Model details**")
        st.markdown(
            _bullets(
                [
                    f"Task: {card['task']}",
                    f"Kind: {card['kind']}",
                    f"Architecture: {card.get('architecture', '-')}",
                    f"Labels ({len(card['labels'])}): {', '.join(map(str, card['labels'][:12]))}"
                    + (" ..." if len(card["labels"]) > 12 else ""),
                ]
            )
        )
    with uses:
        st.markdown(f"**Intended use**\n\n{card['intended_use']}\n\n**Out of scope**\n\n{card['out_of_scope_use']}")
    st.markdown("**Training data**")
    st.markdown(
        _bullets(
            [
                f"Data set: {training.get('dataset', '-')} (sha256 `{str(training.get('data_sha256', '-'))[:16]}...`)",
                f"Licence: {card['data_licence']}",
                f"Split: {training.get('split', '-')}",
                f"Seed {training.get('seed', '-')}; wall time {training.get('wall_time_s', 0):.0f} s; "
                f"command `{training.get('command', '-')}`",
            ]
        )
    )
    st.markdown("**Evaluation data and metrics**")
    rows = []
    for split, metrics in card["metrics"].items():
        for key, value in metrics.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                rows.append({"split": metrics.get("split", split), "metric": key, "value": round(float(value), 4)})
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.markdown(f"**Calibration**: {card['calibration'].get('method', '-')}")
    st.markdown("**Limitations**\n" + _bullets(card["limitations"]))
    st.markdown("**Ethical considerations**\n" + _bullets(card["ethical_considerations"]))
    st.caption("Trained with " + ", ".join(f"{k} {v}" for k, v in card["framework_versions"].items()))


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


def validation_charts(card: dict, evaluation: dict) -> None:
    """Every chart a bundle's evaluation.json holds: confusion matrices, ROC/PR, reliability, threshold
    explorer, ranking curves (recommenders), training curves and the per-class table."""
    if "confusion_matrix" in evaluation:
        left, right = st.columns(2)
        left.plotly_chart(plots.confusion_matrix_figure(evaluation["confusion_matrix"], card["labels"]), key="cm")
        right.plotly_chart(
            plots.confusion_matrix_figure(evaluation["confusion_matrix"], card["labels"], True), key="cmn"
        )
    if evaluation.get("roc"):
        left, right = st.columns(2)
        left.plotly_chart(plots.roc_figure(evaluation["roc"]), key="roc")
        right.plotly_chart(plots.pr_figure(evaluation["pr"]), key="pr")
    if "reliability" in evaluation:
        calibration = card["calibration"]
        st.plotly_chart(
            plots.reliability_figure(
                evaluation["reliability"],
                evaluation.get("reliability_before"),
                calibration.get("validation_after", {}).get("ece"),
                calibration.get("validation_before", {}).get("ece"),
            ),
            key="rel",
        )
    threshold_explorer(card, evaluation, key="thr")
    if "curves" in evaluation:  # recommenders: HR@k and NDCG@k against the baselines
        st.plotly_chart(ranking_curves_figure(evaluation["curves"], evaluation["k"], "blend"), key="curves")
    if evaluation.get("history"):
        st.plotly_chart(plots.history_figure(evaluation["history"]), key="hist")
    if evaluation.get("per_class"):
        st.dataframe(evaluation["per_class"], key="pc")


def threshold_explorer(card: dict, evaluation: dict, key: str) -> None:
    """Sensitivity/specificity at the shipped threshold and at one the user slides to (binary models)."""
    from medcore.core.metrics import binary_operating_point

    point = card.get("operating_point", {})
    predictions = evaluation.get("validation_predictions")
    if "threshold" not in point or not predictions:
        return
    positive = card["labels"].index(point["positive_label"])
    y_true = [label == positive for label in predictions["y_true"]]
    score = [row[positive] for row in predictions["proba"]]
    shipped = float(point["threshold"])
    chosen = st.slider(
        f"Threshold on P({point['positive_label']})", 0.0, 1.0, round(shipped, 2), 0.01, key=f"{key}-thr"
    )
    table = (
        pd.DataFrame(
            [
                # The stored scores are rounded to 6 decimals: round the threshold alike, so the
                # image whose score is the threshold itself counts as positive, as in the card.
                {"threshold": f"shipped {shipped:.3f}", **binary_operating_point(y_true, score, round(shipped, 6))},
                {"threshold": f"chosen {chosen:.2f}", **binary_operating_point(y_true, score, chosen)},
            ]
        )
        .drop(columns=["threshold"])
        .set_index(pd.Index([f"shipped {shipped:.3f}", f"chosen {chosen:.2f}"], name="threshold"))
    )
    st.dataframe(table.round(3))
    st.caption(
        f"On the validation split (n={len(y_true)}). Lower thresholds catch more {point['positive_label']} cases at the cost of more false alarms."
    )


def evaluation_result(result: dict, labels: list[str], key: str) -> None:
    """Charts and a per-sample CSV for an evaluation run on the user's own data.

    A recommender's result (``evaluate_recommender``) gets its HR@k/NDCG@k curves against the
    popularity baseline and the protocol's notes instead.
    """
    if "curves" in result:
        curves = result["curves"]
        st.plotly_chart(ranking_curves_figure(curves, curves["model"]["k"], "model"), key=f"{key}-curves")
        st.caption(f"{result['protocol']}; {result['skipped']} patient(s) skipped (too few items).")
        for note in result["notes"]:
            st.warning(note)
        return
    st.caption(
        f"n={result['n']}: accuracy {result['accuracy']:.3f}, AUC {result['auc']:.3f}, macro-F1 {result['macro_f1']:.3f}, "
        f"ECE {result['ece']:.3f}, Brier {result['brier']:.3f}"
    )
    left, right = st.columns(2)
    matrix = result["confusion_matrix"]
    left.plotly_chart(plots.confusion_matrix_figure(matrix, labels, present_only=True), key=f"{key}-cm")
    right.plotly_chart(
        plots.confusion_matrix_figure(matrix, labels, normalise=True, present_only=True), key=f"{key}-cmn"
    )
    if result["roc"]:
        left.plotly_chart(plots.roc_figure(result["roc"]), key=f"{key}-roc")
        right.plotly_chart(plots.pr_figure(result["pr"]), key=f"{key}-pr")
    left.plotly_chart(plots.reliability_figure(result["reliability"], ece_after=result["ece"]), key=f"{key}-rel")
    st.dataframe(pd.DataFrame(result["per_class"]).round(3), hide_index=True, key=f"{key}-pc")
    frame = pd.DataFrame(result["predictions"])
    st.download_button(
        "Download per-sample predictions (CSV)",
        frame.to_csv(index=False),
        "medcore_evaluation.csv",
        "text/csv",
        key=f"{key}-dl",
    )
