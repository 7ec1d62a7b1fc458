"""Survival and risk: a patient's covariates -> survival curve with a band, risk percentile, drivers, what-ifs."""

import streamlit as st

from medcore import MedcoreError, ui
from medcore.core.audit import input_digest
from medcore.core.cards import format_figure
from medcore.survival.families import family_label
from medcore.survival.inputs import fill_unmeasured
from medcore.survival.metrics import horizon_label
from medcore.survival.plots import contributions_figure, risk_groups_figure, survival_figure
from medcore.ui.survival import batch_section, patient_form, unmeasured_notice

ui.page_header("Survival and risk")
model = ui.choose_model("survival", "Cohort model")
name = model.name
card = model.card
st.markdown(f"**Intended use.** {card['intended_use']}")
st.caption(
    f"Model: {family_label(card['architecture'])}, cross-validated on {card['training']['patients']:,} training "
    f"patients: {format_figure(card['metrics']['validation'], 'c_index')}. Time in {model.time_unit}."
)
horizons = {horizon_label(h, model.time_unit): h for h in model.horizons}


def _patient(row: dict) -> None:
    """Everything the model says about one patient, or why it says nothing (values not measured: the cohort median)."""
    row, filled = fill_unmeasured(model, row)
    try:
        result = ui.audited(
            "survival",
            "survival and risk",
            card,
            input_digest(*[f"{k}={v}" for k, v in sorted(row.items())]),
            lambda: model.analyse([row], curves=True)[0],
            lambda r: {"out_of_domain": r["out_of_domain"], "risk_group": r.get("risk_group")},
        )
    except MedcoreError as err:
        st.error(str(err))
        return
    if result["out_of_domain"]:
        st.error(result["warnings"][0])
        st.caption("The model gives no answer for patients unlike those it was trained on.")
        return
    unmeasured_notice(model, row, filled)

    def _time(value) -> str:
        return f"{value:.0f} {model.time_unit}" if value is not None else "not reached"

    low_median, high_median = result["median_survival_ci95"]
    first, second = st.columns(2)
    first.metric(
        "Risk percentile",
        f"{result['risk_percentile']:.0f}th",
        model.risk_words(result["risk_percentile"]),
        delta_color="off",
        delta_arrow="off",
    )
    second.metric(
        f"Median {model.endpoint}",
        _time(result["median_survival"]),
        f"band {_time(low_median)} to {_time(high_median)}",
        delta_color="off",
        delta_arrow="off",
    )
    for cell, label in zip(st.columns(len(horizons)), horizons):
        low, high = result[f"survival@{label}_ci95"]
        cell.metric(
            f"{model.endpoint.capitalize()} at {label}",
            f"{result[f'survival@{label}']:.0%}",
            f"band {low:.0%}-{high:.0%}",
            delta_color="off",
            delta_arrow="off",
        )
    st.caption(
        "Risk percentile: the share of the training cohort with a lower predicted risk. Band: 2.5th-97.5th "
        f"percentile of the same model refitted on bootstrap resamples of the cohort. Event: {card['input']['event']}."
    )
    left, right = st.columns(2)
    left.plotly_chart(survival_figure(result, model.time_unit, horizons), key="curve")
    right.plotly_chart(risk_groups_figure(model.risk_groups, model.time_unit, result["risk_group"]), key="groups")

    explanation = ui.session_memo("survival-explain", (name, tuple(sorted(row.items()))), lambda: model.explain([row]))
    st.subheader("What drives this risk")
    st.plotly_chart(contributions_figure(explanation), key="drivers")
    st.markdown(explanation["summary"])
    st.markdown("\n".join(f"- {c['text']}" for c in explanation["contributions"]))  # every factor, in words

    ui.what_if_section(model, row)


one_tab, batch_tab = st.tabs(["One patient", "Batch (CSV)"])
with one_tab:
    patient_row = patient_form(model)
    if patient_row is None:
        st.info("Enter the patient's covariates and press Predict. Nothing you enter is written to disk.")
    else:
        _patient(patient_row)
with batch_tab:
    batch_section(model)
