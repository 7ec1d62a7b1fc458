"""Survival and risk: a patient's covariates -> survival curve with a band, risk percentile, drivers, what-ifs."""

import pandas as pd
import streamlit as st

from medcore import MedcoreError, ui
from medcore.core.audit import input_digest
from medcore.core.cards import format_figure
from medcore.survival.metrics import horizon_label
from medcore.survival.plots import contributions_figure, risk_groups_figure, survival_figure

ui.page_header("Survival and risk")
model = ui.choose_model("survival", "Cohort model")
name = model.name
card = model.card
st.markdown(f"**Intended use.** {card['intended_use']}")
st.caption(
    f"Model: {card['architecture']['family']}, cross-validated on {card['training']['patients']:,} training "
    f"patients: {format_figure(card['metrics']['validation'], 'c_index')}. Time in {model.time_unit}."
)
horizons = {horizon_label(h, model.time_unit): h for h in model.horizons}


def _form() -> dict | None:
    """The covariate form; returns the last submitted row (kept in this session's memory only)."""
    with st.form(f"patient-{name}"):
        st.markdown(
            "Defaults are the training cohort's median patient. A value outside its plausible range is refused."
        )
        columns = st.columns(3)
        row = {}
        for index, covariate in enumerate(model.covariates):
            low, high = covariate["range"]
            label = covariate["description"] + (f" ({covariate['unit']})" if covariate["unit"] else "")
            where = columns[index % 3]
            if covariate["categories"]:
                codes = [int(code) for code in covariate["categories"]]
                row[covariate["name"]] = where.selectbox(
                    label,
                    codes,
                    index=codes.index(int(covariate["median"])),
                    format_func=lambda code, c=covariate: c["categories"][str(code)],
                    key=f"{name}-{covariate['name']}",
                )
            else:
                whole = covariate["type"] == "integer"
                # No widget limits: a value out of range gets a message naming the range, not a silent block.
                row[covariate["name"]] = where.number_input(
                    label,
                    value=int(covariate["median"]) if whole else float(covariate["median"]),
                    step=1 if whole else None,
                    help=f"{covariate['name']}: plausible {low:g}-{high:g}; seen in training "
                    f"{covariate['training_range'][0]:g}-{covariate['training_range'][1]:g}",
                    key=f"{name}-{covariate['name']}",
                )
        submitted = st.form_submit_button("Predict", type="primary")
    if submitted:
        problems = [
            f"{c['description']}: {row[c['name']]:g} is outside the plausible range {c['range'][0]:g}-{c['range'][1]:g}"
            + (f" {c['unit']}" if c["unit"] else "")
            for c in model.covariates
            if not c["categories"] and not c["range"][0] <= row[c["name"]] <= c["range"][1]
        ]
        if problems:
            st.session_state.pop(f"survival-row-{name}", None)  # never the previous patient's result
            for problem in problems:
                st.error(problem + ". Correct it and press Predict.")
            return None
        st.session_state[f"survival-row-{name}"] = row
    return st.session_state.get(f"survival-row-{name}")


def _patient(row: dict) -> None:
    """Everything the model says about one patient, or why it says nothing."""
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


def _batch() -> None:
    """A CSV of patients -> a downloadable table of risks and survival at the horizons."""
    names = [c["name"] for c in model.covariates]
    st.markdown(f"CSV with one row per patient and the columns: `{', '.join(names)}`. Other columns are ignored.")
    st.download_button(
        "Download a template (the median patient)",
        pd.DataFrame([{c["name"]: c["median"] for c in model.covariates}]).to_csv(index=False),
        f"{name}-template.csv",
        "text/csv",
    )
    upload = st.file_uploader("Patients (CSV)", type=["csv"], key=f"batch-{name}")
    if upload is not None:
        data = upload.getvalue()
        try:
            results = ui.audited(
                "survival-batch",
                "survival and risk (batch)",
                card,
                input_digest(data),
                lambda: model.analyse(data),
                lambda rs: {"rows": len(rs), "out_of_domain": sum(r["out_of_domain"] for r in rs)},
            )
        except MedcoreError as err:
            st.error(str(err))
            return
        table = pd.DataFrame(
            [
                {
                    "row": index + 1,
                    "risk percentile": r.get("risk_percentile"),
                    "risk group (cohort third)": r.get("risk_group", "not analysed"),
                    f"median {model.endpoint} ({model.time_unit})": r.get("median_survival")
                    if r.get("median_survival") is not None or r["out_of_domain"]
                    else "not reached",
                    **{f"{model.endpoint} at {label}": r.get(f"survival@{label}") for label in horizons},
                    "note": "; ".join(r["warnings"]),
                }
                for index, r in enumerate(results)
            ]
        )
        refused = sum(r["out_of_domain"] for r in results)
        st.caption(f"{len(results)} patients; {refused} outside the training cohort (no answer given).")
        st.dataframe(table.round(3), hide_index=True)
        st.download_button("Download results (CSV)", table.to_csv(index=False), f"{name}-results.csv", "text/csv")


one_tab, batch_tab = st.tabs(["One patient", "Batch (CSV)"])
with one_tab:
    patient_row = _form()
    if patient_row is None:
        st.info("Enter the patient's covariates and press Predict. Nothing you enter is written to disk.")
    else:
        _patient(patient_row)
with batch_tab:
    _batch()
