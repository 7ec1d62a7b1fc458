"""Model evaluation: every bundle's card and charts, and evaluation on the user's own labelled file."""

import streamlit as st

from medcore import MedcoreError, ui
from medcore.checklist.data import readable
from medcore.core.audit import input_digest
from medcore.core.cards import comparison_table, own_vs_shipped
from medcore.core.evaluate import accepted_uploads, evaluate_upload

ui.page_header("Model evaluation")

cards = ui.model_cards()
if not cards:
    st.info("No model bundles were found in the models folder.")
    st.stop()
by_name = {card["name"]: card for card in cards}
name = st.selectbox("Model", list(by_name), format_func=lambda n: f"{n}: {by_name[n]['task']}")
card = by_name[name]
try:
    evaluation = ui.evaluation(name)
except MedcoreError as err:
    st.error(str(err))
    st.stop()
card, evaluation = readable(card), readable(evaluation)  # the data sets' misspelled labels, corrected

card_tab, charts_tab, compare_tab, own_tab = st.tabs(
    ["Model card", "Validation charts", "Comparison", "Evaluate on your data"]
)
with card_tab:
    ui.model_card(card)
with charts_tab:
    ui.validation_charts(card, evaluation)
with compare_tab:
    table = comparison_table(card)
    if table is None:
        st.info("This model's card records no alternative models to compare with.")
    else:
        st.markdown(
            "The shipped model beside the alternatives trained and measured in the same run, on the same "
            f"held-out data ({card['metrics']['validation'].get('split', 'validation')})."
        )
        st.dataframe(table.style.format(precision=4, na_rep="–"), key="compare")  # "–": not measured
with own_tab:
    accepted = accepted_uploads(card["kind"])
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
        result = ui.audited(
            "evaluation",
            "model evaluation",
            card,
            input_digest(data, split),
            lambda: evaluate_upload(
                ui.get_model(name), upload.name, data, split, lambda f: bar.progress(f, text="Evaluating...")
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
    ui.evaluation_result(readable(result), card["labels"], key="own")
