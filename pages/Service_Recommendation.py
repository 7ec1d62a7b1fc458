"""Service recommendation: a patient's history -> the services likely needed next, with reasons."""

import pandas as pd
import streamlit as st

from medcore import MedcoreError, ui
from medcore.care.plots import ranking_curves_figure, timeline_figure
from medcore.core.audit import input_digest
from medcore.core.cards import format_figure

ui.page_header("Service recommendation")
try:
    model = ui.get_model("care-recommender")
except MedcoreError as err:
    st.error(str(err))
    st.stop()
st.markdown(f"**Intended use.** {model.card['intended_use']}")

source = st.radio("Patient", ["Pick an existing (synthetic) patient", "Build a history"], horizontal=True)
if source.startswith("Pick"):
    patients = {p["id"]: p for p in model.patients()}
    chosen = patients[
        st.selectbox(
            "Patient (pseudonymous id, age, sex)",
            list(patients),
            format_func=lambda i: f"{i} · {patients[i]['age']:.0f} y · {patients[i]['sex']}",
        )
    ]
    timeline, age, sex = chosen["timeline"], chosen["age"], chosen["sex"]
    history = [event["item"] for event in timeline]
else:
    items = model.items
    history = st.multiselect(
        "History items (search by description)",
        list(items),
        format_func=lambda i: f"{items[i]['description']} ({items[i]['kind']})",
        placeholder="Type to search...",
    )
    left, right = st.columns(2)
    age = left.number_input("Age (years)", 0.0, 120.0, 40.0, 1.0, format="%.0f")
    sex = right.radio("Sex", ["F", "M"], horizontal=True)
    timeline = []

left, right = st.columns(2)
k = left.slider("How many recommendations", 1, 20, 10)
kinds = right.multiselect(
    "Kinds",
    ["procedure", "medication", "immunization", "careplan"],
    ["procedure", "medication", "immunization", "careplan"],
)
try:
    result = ui.audited(
        "recommendation",
        "service recommendation",
        model.card,
        input_digest(*history, str(age), str(sex)),
        lambda: model.recommend(history, k=50, age=age, sex=sex),
        lambda result: {"top3": [item["item"] for item in result["items"][:3]], "unknown": len(result["unknown"])},
    )
except MedcoreError as err:
    st.error(str(err))
    st.stop()
for notice in result["notices"]:
    st.info(notice)
if result["unknown"]:
    st.warning("Not recognised and ignored: " + ", ".join(result["unknown"]))
shown = [item for item in result["items"] if item["kind"] in kinds][:k]
st.subheader("Recommended next")
# A static table wraps long reasons instead of cutting them off.
st.table(
    pd.DataFrame(
        [
            {
                "#": rank,
                "service": r["description"],
                "kind": r["kind"],
                "score": f"{r['score']:.3f}",
                "reason": r["reason"],
            }
            for rank, r in enumerate(shown, start=1)
        ]
    ).set_index("#")
)
excluded = model.card.get("excluded", {})
if excluded.get("items"):
    st.caption(
        f"Never recommended on their own: {len(excluded['items'])} medications given and stopped within one visit "
        "(anaesthetics, IV sedatives and opioids, procedural heparin, infusions); they belong to the procedure "
        "that brings them. The model card lists them."
    )
if timeline:
    st.plotly_chart(timeline_figure(timeline, shown), key="timeline")
with st.expander("How good is this recommender? (held-out patients)"):
    evaluation = ui.evaluation(model.name)
    st.plotly_chart(ranking_curves_figure(evaluation["curves"], evaluation["k"], "blend"), key="curves")
    validation = model.card["metrics"]["validation"]
    figures = "; ".join(format_figure(validation, key) for key in ("hr@10", "ndcg@10", "recall@10"))
    st.caption(
        f"{evaluation['split']}. {figures}; popularity baseline: {format_figure(validation, 'popularity hr@10', 'HR@10')}."
    )
