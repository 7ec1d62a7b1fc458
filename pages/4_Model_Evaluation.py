"""Model evaluation: every bundle's card and charts, and evaluation on the user's own labelled file."""

import streamlit as st

from medcore import MedcoreError, plots, read_evaluation, ui_cache
from medcore.audit import input_digest
from medcore.cards import NOTICE, comparison_table, own_vs_shipped
from medcore.evaluate import ACCEPTED_UPLOADS, evaluate_upload
from medcore.ui_sections import evaluation_result, model_card, threshold_explorer

st.set_page_config(page_title="Model evaluation · medcore", page_icon="📊", layout="wide")
ui_cache.require_login()
st.title("Model evaluation")
st.caption(NOTICE)

cards = ui_cache.model_cards()
if not cards:
    st.info("No model bundles were found in the models folder.")
    st.stop()
by_name = {card["name"]: card for card in cards}
name = st.selectbox("Model", list(by_name), format_func=lambda n: f"{n}: {by_name[n]['task']}")
card = by_name[name]
try:
    evaluation = read_evaluation(name)
except MedcoreError as err:
    st.error(str(err))
    st.stop()

card_tab, charts_tab, compare_tab, own_tab = st.tabs(
    ["Model card", "Validation charts", "Comparison", "Evaluate on your data"]
)
with card_tab:
    model_card(card)
with charts_tab:
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
        st.plotly_chart(plots.ranking_curves_figure(evaluation["curves"], evaluation["k"], "blend"), key="curves")
    if evaluation.get("history"):
        st.plotly_chart(plots.history_figure(evaluation["history"]), key="hist")
    if evaluation.get("per_class"):
        st.dataframe(evaluation["per_class"], key="pc")
with compare_tab:
    table = comparison_table(card)
    if table is None:
        st.info("This model's card records no alternative models to compare with.")
    else:
        st.markdown(
            "The shipped model beside the alternatives trained and measured in the same run (validation split)."
        )
        st.dataframe(table, key="compare")
with own_tab:
    accepted = ACCEPTED_UPLOADS.get(card["kind"])
    if not accepted:
        st.info(f"Evaluation on your own data is not available for {card['kind']} models.")
        st.stop()
    st.markdown("Accepted: " + "; ".join(f"`{ending}` {what}" for ending, what in accepted.items()))
    upload = st.file_uploader("Labelled file", type=[ending.lstrip(".") for ending in accepted], key="own")
    split = st.selectbox("Split (for .npz files)", ["test", "val", "train"]) if ".npz" in accepted else "test"
    if upload is None:
        st.info("Upload a labelled file to see this model's metrics on your data. Nothing you upload is kept.")
        st.stop()
    data = upload.getvalue()
    bar = st.progress(0.0, text="Evaluating...")
    try:
        result = ui_cache.audited(
            "evaluation",
            "model evaluation",
            card,
            input_digest(data, split),
            lambda: evaluate_upload(
                ui_cache.get_model(name), upload.name, data, split, lambda f: bar.progress(f, text="Evaluating...")
            ),
            lambda result: {k: v for k, v in result.items() if isinstance(v, (int, float))},
        )
    except MedcoreError as err:
        st.error(str(err))
        st.stop()
    finally:
        bar.empty()
    st.markdown("**Your data beside the shipped validation figures**")
    st.table(own_vs_shipped(card, result))
    evaluation_result(result, card["labels"], key="own")
