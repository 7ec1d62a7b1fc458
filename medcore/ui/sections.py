"""Streamlit sections several pages share.

Each function draws one finished section from a bundle's card and evaluation.json, so pages
stay thin and every page shows a model's evidence the same way.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from medcore.care.plots import ranking_curves_figure
from medcore.core import plots
from medcore.core.cards import count_of
from medcore.core.metrics import decision_confusion
from medcore.core.registry import read_arrays
from medcore.dosing.plots import calibration_figure as dose_calibration_figure
from medcore.imaging.recipes import SMALL_INPUT
from medcore.literature.plots import pairs_figure, scores_figure
from medcore.molecules.plots import parity_figure
from medcore.segmentation.plots import dice_histogram, worst_cases_figure
from medcore.survival.plots import calibration_figure, risk_groups_figure

__all__ = [
    "evaluation_charts",
    "model_card",
    "validation_charts",
    "threshold_explorer",
    "evaluation_result",
    "gradcam_panel",
    "lesion_section",
]


def _plain(value) -> str:
    """A card value as words: a dict becomes "key: value; ...", nested dicts shortened."""
    if isinstance(value, dict):
        return "; ".join(
            f"{key}: {_plain(item) if not isinstance(item, dict) else '...'}" for key, item in value.items()
        )
    return str(value)


def _digests(value) -> str:
    """One or several data-file sha256s, shortened."""
    if isinstance(value, dict):
        return ", ".join(f"{name} sha256 `{digest[:12]}...`" for name, digest in value.items())
    return f"sha256 `{str(value)[:16]}...`"


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
                    f"Architecture: {_plain(card.get('architecture', '-'))}",
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
                f"Data set: {training.get('dataset', '-')} ({_digests(training.get('data_sha256', '-'))})",
                f"Licence: {card['data_licence']}",
                f"Split: {training.get('split', '-')}",
                f"Seed {training.get('seed', '-')}; wall time {training.get('wall_time_s', 0):.0f} s; "
                f"command `{training.get('command', '-')}`",
            ]
        )
    )
    st.markdown("**Evaluation data and metrics** (95 % intervals: bootstrap over patients, images or molecules)")
    st.dataframe(pd.DataFrame(figure_rows(card)), hide_index=True)
    st.markdown(f"**Which data chose the model:** {training.get('chosen_on', training.get('split', '-'))}")
    small = card.get("small_input")
    if small:  # small uploads are read by a second network of the bundle
        st.markdown(
            f"**Small uploads** (under {SMALL_INPUT} px) are read by a {small['input']['shape'][0]} px network: "
            f"{small['architecture']}, trained on {small['training']['dataset']}."
        )
        st.dataframe(pd.DataFrame(figure_rows(small)), hide_index=True)
    subgroups = card["metrics"].get("validation", {}).get("subgroups")
    if subgroups:
        st.markdown("**Subgroups**")
        st.dataframe(pd.DataFrame(subgroup_rows(subgroups)), hide_index=True)
    domain = card.get("domain_check")
    if domain:
        st.markdown("**What it refuses (domain check)**")
        st.markdown(domain_text(domain, _INPUTS.get(card["kind"], "images")))
    st.markdown(f"**Calibration**: {card['calibration'].get('method', '-')}")
    st.markdown("**Limitations**\n" + _bullets(card["limitations"]))
    st.markdown("**Ethical considerations**\n" + _bullets(card["ethical_considerations"]))
    st.caption("Trained with " + ", ".join(f"{k} {v}" for k, v in card["framework_versions"].items()))


_INPUTS = {
    "survival": "patients",
    "molecule": "molecules",
    "literature": "abstracts",
    "dosing": "patients",
    "segmentation": "ultrasound frames",
}


def _interval(metrics: dict, key: str) -> str:
    bounds = metrics.get(f"{key}_ci95")
    return f"{bounds[0]:.3f}-{bounds[1]:.3f}" if bounds and None not in bounds else "-"


def figure_rows(card: dict) -> list[dict]:
    """One row per scalar figure of the card's metrics: split, metric, value, 95 % CI, n (a nested set of
    figures with its own n, such as the full-size check, gets rows of its own)."""
    rows = []

    def add(split: str, metrics: dict) -> None:
        for key, value in metrics.items():
            if isinstance(value, dict) and "n" in value:
                add(f"{split}: {value.get('images', key)}", value)
                continue
            if key == "n" or key.endswith("_ci95") or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            rows.append(
                {
                    "split": split,
                    "metric": key,
                    "value": round(float(value), 4),
                    "95 % CI": _interval(metrics, key),
                    "n": count_of(metrics, key),
                }
            )

    for split, metrics in card["metrics"].items():
        add(str(metrics.get("split", split)), metrics)
    return rows


def subgroup_rows(subgroups: dict) -> list[dict]:
    """Rows of a card's subgroup figures (attribute, group, n, each figure with its interval)."""
    rows = []
    for attribute, groups in subgroups.items():
        for group, figures in groups.items():
            row = {"attribute": attribute, "group": group, "n": figures.get("n")}
            for key, value in figures.items():
                if key not in ("n", "note") and not key.endswith("_ci95"):
                    row[key] = f"{value:.3f} ({_interval(figures, key)})"
            if "note" in figures:
                row["note"] = figures["note"]
            rows.append(row)
    return rows


def domain_text(domain: dict, inputs: str = "images") -> str:
    """The card's domain check in two sentences, with its figures and intervals (``inputs``: what is checked)."""
    figures = domain.get("validation", {})

    def share(value, interval) -> str:
        if value is None:
            return "-"
        bounds = f" (95 % CI {interval[0]:.1%}-{interval[1]:.1%})" if interval and None not in interval else ""
        return f"{value:.1%}{bounds}"

    text = f"{domain.get('method', '')}. "
    if "negatives_caught" in figures:
        text += (
            f"Caught {share(figures['negatives_caught'], figures.get('negatives_caught_ci95'))} of "
            f"{figures.get('n_negatives')} wrong inputs. "
        )
    if "genuine_rejected" in figures:
        text += (
            f"Refused {share(figures['genuine_rejected'], figures.get('genuine_rejected_ci95'))} of "
            f"{figures.get('n_genuine')} genuine held-out {inputs}."
        )
    if "negatives" in figures:
        text += f" Measured on: {figures['negatives']}."
    return text


def evaluation_charts(card: dict, key: str) -> None:
    """Confusion matrix, per-class metrics, reliability and ROC of a model's validation run."""
    from medcore.ui.cache import evaluation as cached_evaluation

    evaluation = cached_evaluation(card["name"])
    metrics = card["metrics"]["validation"]
    shown = {
        k: v
        for k, v in metrics.items()
        if isinstance(v, (int, float))
        and not isinstance(v, bool)
        and k != "n"
        and not k.startswith("n_")
        and not k.endswith("_ci95")
    }
    st.caption(
        f"Held-out data ({metrics.get('split', 'validation')}), n={metrics.get('n', '?')}; 95 % intervals in brackets: "
        + ", ".join(f"{k} {v:.3f} ({_interval(metrics, k)})" for k, v in shown.items())
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


ASSESSMENT_FIGURES = {
    "triage_accuracy": "triage accuracy",
    "emergency_recall": "emergencies found",
    "safety": "safety (at or above the right level)",
    "over_triage": "over-triage",
    "top1": "right diagnosis first (known conditions)",
    "top3": "right diagnosis in the top 3 (known conditions)",
    "unknown_confident": "unknown conditions answered confidently",
}


def assessment_rows(metrics: dict) -> list[dict]:
    """One row per vignette figure: value, 95 % interval and n (for the assessment's table)."""
    rows = []
    for key, label in ASSESSMENT_FIGURES.items():
        value, (low, high), n = metrics.get(key), metrics.get(f"{key}_ci95") or (None, None), metrics.get(f"n_{key}")
        rows.append(
            {
                "figure": label,
                "value": "-" if value is None else f"{value:.3f}",
                "95 % CI": "-" if low is None else f"{low:.3f}-{high:.3f}",
                "n": n,
            }
        )
    return rows


def assessment_figures(card: dict) -> None:
    """The symptom assessment's vignette figures with intervals and n, beside the published anchors."""
    for split, caption in (
        ("validation", "Test vignettes (scored once; they fit nothing)"),
        ("dev_vignettes", "Dev vignettes (read while writing the vocabulary: optimistic)"),
    ):
        if split in card["metrics"]:
            st.caption(caption)
            st.dataframe(pd.DataFrame(assessment_rows(card["metrics"][split])), hide_index=True, key=f"sa-{split}")
    st.caption(
        "Anchors: "
        + "; ".join(
            f"{who}: " + ", ".join(f"{k} {v}" for k, v in figures.items())
            for who, figures in card.get("anchors", {}).items()
        )
    )


def validation_charts(card: dict, evaluation: dict) -> None:
    """Every chart a bundle's evaluation.json holds: confusion matrices, ROC/PR, reliability, threshold
    explorer, ranking curves (recommenders), training curves and the per-class table."""
    if "confusion_matrix" in evaluation:
        matrix = evaluation["confusion_matrix"]
        point = card.get("operating_point", {})
        predictions = evaluation.get("validation_predictions")
        if "threshold" in point and predictions:  # the decision the page shows, not the argmax
            positive = card["labels"].index(point["positive_label"])
            matrix = decision_confusion(
                predictions["y_true"], predictions["proba"], positive, float(point["threshold"])
            )
            st.caption(f"Confusion matrices at the operating threshold {point['threshold']:.2f}, as the page decides.")
        left, right = st.columns(2)
        left.plotly_chart(plots.confusion_matrix_figure(matrix, card["labels"]), key="cm")
        right.plotly_chart(plots.confusion_matrix_figure(matrix, card["labels"], True), key="cmn")
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
    if card["kind"] == "assessment":
        assessment_figures(card)
    if "parity" in evaluation:  # regression (solubility): predicted against measured
        st.plotly_chart(
            parity_figure(
                evaluation["parity"]["measured"], evaluation["parity"]["predicted"], card["input"].get("unit", "")
            ),
            key="parity",
        )
    if "candidates" in evaluation and card["kind"] == "molecule":
        st.markdown("**Every candidate on the validation scaffolds** (the shipped one is the best)")
        st.dataframe(_candidate_table(evaluation["candidates"]), hide_index=True, key="mol-cand")
    if card["kind"] == "segmentation":  # lesion outlines: Dice distribution, per class, worst cases
        n = card["metrics"]["validation"].get("n_lesion_images", 0)
        st.plotly_chart(dice_histogram(evaluation["dice_values"], n), key="seg-dice")
        st.dataframe(pd.DataFrame(subgroup_rows({"class": evaluation["per_class"]})), hide_index=True, key="seg-pc")
        worst = read_arrays(card["name"], "worst.npz")
        st.plotly_chart(
            worst_cases_figure(worst["images"], worst["truth"], worst["predicted"], worst["dice"]), key="seg-worst"
        )
    if card["kind"] == "dosing":  # warfarin: calibration by decile, every candidate and the IWPC algorithms
        n = card["metrics"]["validation"]["n"]
        st.plotly_chart(dose_calibration_figure(evaluation["calibration"], n), key="dose-cal")
        st.markdown("**Every candidate and the IWPC algorithms, cross-validated on the same patients**")
        st.dataframe(_candidate_table(evaluation["candidates"]), hide_index=True, key="dose-cand")
    if "per_type" in evaluation:  # literature extraction: P/R/F1 per measure, relation evidence
        _literature_charts(evaluation, evaluation["figures"], "val")
        st.markdown("**What the relation scorer leans on** (boosted trees' feature importance)")
        st.dataframe(pd.DataFrame(evaluation["relation_features"]).round(3), hide_index=True, key="lit-features")
        history = evaluation["tagger_history"]
        st.plotly_chart(
            plots.history_figure(
                [
                    {
                        "epoch": [h["epoch"] for h in history],
                        "loss": [h["loss"] for h in history],
                        "val_strict_f1": [h["dev_f1"] for h in history],
                    }
                ]
            ),
            key="lit-hist",
        )
    if "risk_groups" in evaluation:  # survival models: the cohort by risk tertile, calibration at horizons
        _survival_charts(evaluation, evaluation["time_unit"], "val")
    if "curves" in evaluation:  # recommenders: HR@k and NDCG@k against the baselines
        st.plotly_chart(ranking_curves_figure(evaluation["curves"], evaluation["k"], "blend"), key="curves")
    if evaluation.get("history"):
        history = evaluation["history"]
        if isinstance(history[0].get("epoch"), int):  # one row per epoch (segmentation): one curve of lists
            history = [{key: [row[key] for row in history] for key in ("epoch", "loss", "val_dice")}]
        st.plotly_chart(plots.history_figure(history), key="hist")
    if isinstance(evaluation.get("per_class"), list):  # classifiers' per-class rows (segmentation's are drawn above)
        st.dataframe(evaluation["per_class"], key="pc")


def _molecule_result(result: dict, key: str) -> None:
    """A molecule model's evaluation on the user's file: figures, per-task AUC or parity, per-molecule CSV."""
    shown = [k[:-5] for k in result if k.endswith("_ci95")]
    st.caption(
        f"n={result['n']} molecules scored ({result['unreadable']} unreadable, {result['out_of_domain']} outside the "
        "applicability domain); 95 % bootstrap intervals in brackets: "
        + ", ".join(f"{k} {result[k]:.3f} ({_interval(result, k)})" for k in shown)
    )
    for note in result["notes"]:
        st.warning(note)
    if "parity" in result:
        st.plotly_chart(
            parity_figure(result["parity"]["measured"], result["parity"]["predicted"], ""), key=f"{key}-parity"
        )
    else:
        st.dataframe(pd.DataFrame(result["per_task"]).round(3), hide_index=True, key=f"{key}-tasks")
        if result["roc"]:
            left, right = st.columns(2)
            left.plotly_chart(plots.roc_figure(result["roc"]), key=f"{key}-roc")
            right.plotly_chart(plots.pr_figure(result["pr"]), key=f"{key}-pr")
        st.plotly_chart(plots.reliability_figure(result["reliability"], ece_after=result["ece"]), key=f"{key}-rel")
    _download_predictions(
        result["predictions"], "Download per-molecule predictions (CSV)", "medcore_molecules.csv", key
    )


def _literature_charts(evaluation: dict, figures: dict, key: str) -> None:
    """Precision, recall and F1 per measure with intervals, their table, and the most frequent relations."""
    st.plotly_chart(scores_figure(evaluation["per_type"], figures["n"]), key=f"{key}-lit-scores")
    table = pd.DataFrame(
        [
            {"measure": r["measure"]}
            | {
                m: f"{r[m]:.3f} ({r[f'{m}_ci95'][0]:.3f}-{r[f'{m}_ci95'][1]:.3f})"
                for m in ("precision", "recall", "f1")
            }
            for r in evaluation["per_type"]
        ]
    )
    st.dataframe(table, hide_index=True, key=f"{key}-lit-table")
    st.caption(
        f"n={figures['n']} abstracts ({figures['n_chemical_mentions']} chemical and {figures['n_disease_mentions']} "
        f"disease mentions, {figures['n_cid_relations']} CID relations); 95 % bootstrap intervals over abstracts. "
        "Strict: exact span and type; relaxed: overlapping span of the same type; concept: the MeSH ids per abstract."
    )
    if evaluation.get("top_pairs"):
        st.plotly_chart(pairs_figure(evaluation["top_pairs"], figures["n"]), key=f"{key}-lit-pairs")


def _download_predictions(rows: list[dict], label: str, file_name: str, key: str) -> None:
    """A download button for an evaluation's per-sample rows as CSV (made in memory)."""
    st.download_button(label, pd.DataFrame(rows).to_csv(index=False), file_name, "text/csv", key=f"{key}-dl")


def _survival_charts(evaluation: dict, unit: str, key: str) -> None:
    """Kaplan-Meier curves by risk group and calibration at the horizons (a survival model's evidence)."""
    left, right = st.columns(2)
    left.plotly_chart(risk_groups_figure(evaluation["risk_groups"], unit), key=f"{key}-km")
    if evaluation.get("calibration"):
        right.plotly_chart(calibration_figure(evaluation["calibration"]), key=f"{key}-cal")
    candidates = evaluation.get("candidates")
    if candidates:
        st.markdown("**Every candidate, cross-validated** (the shipped model is the one with the highest C-index)")
        st.dataframe(_candidate_table(candidates), hide_index=True, key=f"{key}-cand")


def _candidate_table(candidates: dict) -> pd.DataFrame:
    """One row per candidate model: its figures and their 95 % intervals."""
    return pd.DataFrame(
        [
            {"candidate": name, **{k: v for k, v in figures.items() if not k.endswith("_ci95")}}
            | {f"{k[:-5]} 95 % CI": _interval(figures, k[:-5]) for k in figures if k.endswith("_ci95")}
            for name, figures in candidates.items()
        ]
    ).round(4)


@st.fragment
def threshold_explorer(card: dict, evaluation: dict, key: str) -> None:
    """Sensitivity/specificity at the shipped threshold and at one the user slides to (binary models).
    A fragment: sliding redraws this table only."""
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
        f"Threshold on P({point['positive_label']})", 0.0, 1.0, round(shipped, 2), 0.01, key=f"{key}-thr-{card['name']}"
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
    if "parity" in result or "per_task" in result:  # molecule models
        _molecule_result(result, key)
        return
    if "n_lesion_images" in result:  # lesion segmentation
        for note in result["notes"]:
            st.warning(note)
        shown = [k[:-5] for k in result if k.endswith("_ci95")]
        st.caption(
            f"n={result['n']} images ({result['n_lesion_images']} with a lesion); 95 % bootstrap intervals: "
            + ", ".join(f"{k} {result[k]:.3f} ({_interval(result, k)})" for k in shown)
        )
        st.plotly_chart(dice_histogram(result["dice_values"], result["n_lesion_images"]), key=f"{key}-seg-dice")
        st.dataframe(pd.DataFrame(subgroup_rows({"class": result["per_class"]})), hide_index=True, key=f"{key}-seg-pc")
        return
    if "within_20pct" in result:  # warfarin dosing
        shown = [k[:-5] for k in result if k.endswith("_ci95")]
        st.caption(
            f"n={result['n']} patients ({result['out_of_domain']} outside the training ranges); 95 % bootstrap "
            "intervals in brackets: " + ", ".join(f"{k} {result[k]:.3f} ({_interval(result, k)})" for k in shown)
        )
        for note in result["notes"]:
            st.warning(note)
        st.plotly_chart(dose_calibration_figure(result["calibration"], result["n"]), key=f"{key}-dose-cal")
        st.dataframe(pd.DataFrame(subgroup_rows(result["subgroups"])), hide_index=True, key=f"{key}-dose-groups")
        _download_predictions(result["predictions"], "Download per-patient doses (CSV)", "medcore_doses.csv", key)
        return
    if "per_type" in result:  # literature extraction
        for note in result["notes"]:
            st.warning(note)
        _literature_charts(result, result, key)
        _download_predictions(
            result["predictions"], "Download every mention and relation (CSV)", "medcore_literature.csv", key
        )
        return
    if "risk_groups" in result:
        shown = [k for k in result if k.endswith("_ci95")]
        st.caption(
            f"n={result['n']} ({result['n_events']} events); 95 % bootstrap intervals in brackets: "
            + ", ".join(f"{k[:-5]} {result[k[:-5]]:.3f} ({_interval(result, k[:-5])})" for k in shown)
        )
        for note in result["notes"]:
            st.warning(note)
        _survival_charts(result, result["time_unit"], key)
        _download_predictions(
            result["predictions"], "Download per-patient predictions (CSV)", "medcore_survival.csv", key
        )
        return
    if "curves" in result:
        curves = result["curves"]
        st.plotly_chart(ranking_curves_figure(curves, curves["model"]["k"], "model"), key=f"{key}-curves")
        st.caption(f"{result['protocol']}; {result['skipped']} patient(s) skipped (too few items).")
        for note in result["notes"]:
            st.warning(note)
        return
    st.caption(
        f"n={result['n']}; 95 % bootstrap intervals in brackets: "
        + ", ".join(
            f"{label} {result[key]:.3f} ({_interval(result, key)})"
            for key, label in (
                ("accuracy", "accuracy"),
                ("auc", "AUC"),
                ("macro_f1", "macro-F1"),
                ("ece", "ECE"),
                ("brier", "Brier"),
            )
        )
    )
    left, right = st.columns(2)
    # Binary models: the decision the image page shows (at the card's threshold), not the argmax.
    matrix = result.get("decision_confusion_matrix", result["confusion_matrix"])
    if "decision_confusion_matrix" in result:
        st.caption(
            f"Confusion matrices at the operating threshold {result['operating_point']['threshold']:.2f}, as the page decides."
        )
    left.plotly_chart(plots.confusion_matrix_figure(matrix, labels, present_only=True), key=f"{key}-cm")
    right.plotly_chart(
        plots.confusion_matrix_figure(matrix, labels, normalise=True, present_only=True), key=f"{key}-cmn"
    )
    if result["roc"]:
        left.plotly_chart(plots.roc_figure(result["roc"]), key=f"{key}-roc")
        right.plotly_chart(plots.pr_figure(result["pr"]), key=f"{key}-pr")
    left.plotly_chart(plots.reliability_figure(result["reliability"], ece_after=result["ece"]), key=f"{key}-rel")
    st.dataframe(pd.DataFrame(result["per_class"]).round(3), hide_index=True, key=f"{key}-pc")
    _download_predictions(result["predictions"], "Download per-sample predictions (CSV)", "medcore_evaluation.csv", key)


@st.fragment
def gradcam_panel(image, heatmap, decision: str) -> None:
    """The image with its Grad-CAM and an opacity slider. A fragment: moving the slider redraws this
    figure only, not the page (no model runs again either way: the heatmap is computed by the caller)."""
    from medcore.imaging.plots import heatmap_overlay

    opacity = st.slider("Heatmap opacity", 0.0, 1.0, 0.45, 0.05)
    st.plotly_chart(heatmap_overlay(image, heatmap, opacity, f"Grad-CAM: evidence for '{decision}'"))
    st.caption("Red areas pushed the model towards its result. They show where it looked, not why.")


@st.fragment  # its toggles redraw the outline only
def lesion_section(
    image,
    malignant_probability: float | None,
    threshold: float | None,
    key,
    heatmap=None,
    pixel_spacing: tuple[float, float] | None = None,
) -> None:
    """The lesion outline beside the breast-ultrasound classifier: outline (mask and Grad-CAM toggles),
    measures (in mm when the DICOM states the pixel size or the clinician enters it, else in pixels and
    why), and a review flag when the two models disagree. Nothing when no segmentation bundle is shipped."""
    from medcore.imaging.plots import heatmap_overlay
    from medcore.segmentation.model import agreement
    from medcore.segmentation.plots import outline_traces
    from medcore.ui.cache import get_model, memo_each, model_cards

    if "breast-lesion-segmentation" not in {c["name"] for c in model_cards()}:  # cached, not read on every rerun
        return
    model = get_model("breast-lesion-segmentation")
    result = memo_each("segment", key, lambda: model.analyse([image])[0])
    st.subheader("Lesion outline")
    if result["out_of_domain"]:
        st.warning(result["reason"])
        return
    left, right = st.columns([3, 2])
    with right:
        if pixel_spacing:
            st.caption(
                f"Sizes in mm from the DICOM's pixel spacing ({pixel_spacing[0]:.3g} x {pixel_spacing[1]:.3g} mm)."
            )
        else:
            entered = st.number_input(  # no widget limits: a bad size is named below, not silently blocked
                "Pixel size (mm per pixel), if known",
                value=0.0,
                step=0.01,
                format="%.3f",
                key=f"seg-spacing-{key}",
                help="0 = unknown. The scanner's pixel size, e.g. from its DICOM header or a calibrated ruler.",
            )
            pixel_spacing = (entered, entered) if 0 < entered <= 10 else None
            if entered < 0 or entered > 10:
                st.error(f"A pixel size of {entered:g} mm is impossible: enter 0 (unknown) or up to 10 mm per pixel.")
            elif pixel_spacing is None:
                st.caption(
                    "Sizes are in pixels: a PNG or JPEG does not record how large a pixel is (a DICOM does). "
                    "Upload the DICOM, or enter the pixel size above, to get mm."
                )
    measures = model.measure(result["mask"], pixel_spacing) if pixel_spacing else result["measures"]
    with right:
        fill = st.toggle("Fill the lesion", key=f"seg-fill-{key}")
        with_cam = st.toggle("Show the Grad-CAM too", key=f"seg-cam-{key}") and heatmap is not None
    figure = heatmap_overlay(image, heatmap if with_cam else None, 0.35, "Lesion outline (green)")
    width = int(figure.layout.xaxis.range[1] + 0.5)
    height = int(figure.layout.yaxis.range[0] + 0.5)
    for trace in outline_traces(result["mask"], width, height, fill):
        figure.add_trace(trace)
    left.plotly_chart(figure, key=f"seg-fig-{key}")
    with right:
        if not measures["lesion_found"]:
            st.info("No lesion was outlined.")
        else:
            rows = {
                "area": f"{measures['area_percent']:.1f} % of the image ({measures['area_pixels']:,} pixels"
                + (f", {measures['area_mm2']:.0f} mm²)" if measures["area_mm2"] else ")"),
                "longest diameter": f"{measures['longest_diameter_pixels']:.0f} pixels"
                + (f" ({measures['longest_diameter_mm']:.1f} mm)" if measures["longest_diameter_mm"] else ""),
                "circularity (1 = disc)": f"{measures['circularity']:.2f}",
                "margin irregularity (0 = convex)": f"{measures['margin_irregularity']:.2f}",
                "separate regions": str(measures["components"]),
            }
            st.table(pd.DataFrame({"measure": list(rows), "value": list(rows.values())}).set_index("measure"))
        validation = model.card["metrics"]["validation"]
        quality = (
            f"Outline quality on {validation['n_lesion_images']} validation images with a lesion: Dice "
            f"{validation['dice']:.2f} (95 % CI {validation['dice_ci95'][0]:.2f}-{validation['dice_ci95'][1]:.2f})."
        )
        if "normal_left_empty" in validation:
            low, high = validation["normal_left_empty_ci95"]
            quality += (
                f" Normal frames left empty: {validation['normal_left_empty']:.0%} (95 % CI {low:.0%}-{high:.0%}, "
                f"n={validation['n_normal_images']})."
            )
        st.caption(quality)
    flag = agreement(measures, malignant_probability, threshold)
    if flag:
        st.warning(flag)
