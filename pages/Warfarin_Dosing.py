"""Warfarin dosing: a patient's factors and genotypes -> a starting weekly dose with its interval and reasons."""

import pandas as pd
import streamlit as st

from medcore import MedcoreError, ui
from medcore.core.audit import input_digest
from medcore.core.cards import format_figure
from medcore.dosing import data as iwpc
from medcore.dosing.plots import genotype_figure, waterfall_figure
from medcore.ui.dosing import batch_plans, strength_picker, tablet_plan, template_section

ui.page_header("Warfarin dosing")
model = ui.choose_model("dosing", "Model")
card = model.card
validation = card["metrics"]["validation"]
st.markdown(f"**Intended use.** {card['intended_use']}")
st.caption(
    f"Cross-validated on {validation['n']} IWPC patients: {format_figure(validation, 'mae', 'MAE (mg/week)')}; "
    f"{format_figure(validation, 'within_20pct', 'share within 20 % of the actual dose')}; the IWPC "
    f"pharmacogenetic algorithm on the same patients: {format_figure(validation, 'IWPC pharmacogenetic mae', 'MAE')}."
)
st.warning(
    "A starting point only: adjust the dose by INR monitoring. Genotype effects differ by ancestry, and variants "
    "common in patients of African ancestry (CYP2C9 *5, *6, *8, *11) are not modelled."
)
INDUCERS = {
    "none": None,
    "carbamazepine": iwpc.INDUCERS[0],
    "phenytoin": iwpc.INDUCERS[1],
    "rifampicin": iwpc.INDUCERS[2],
}
INDICATIONS = {
    1: "deep-vein thrombosis",
    2: "pulmonary embolism",
    3: "atrial fibrillation/flutter",
    4: "heart valve",
    5: "cardiomyopathy",
    6: "stroke",
    7: "after orthopaedic surgery",
    8: "other",
}


def _patient() -> dict | None:
    """The form's patient as IWPC columns, once submitted."""
    with st.form("dose-form"):
        left, middle, right = st.columns(3)
        age = left.selectbox("Age (years)", iwpc.AGE_BINS, index=6)
        # No widget limits: an impossible value gets the model's message naming the range (not a silent block).
        height = middle.number_input("Height (cm; empty = unknown)", value=None, step=1.0, placeholder="unknown")
        weight = right.number_input("Weight (kg; empty = unknown)", value=None, step=1.0, placeholder="unknown")
        sex = left.selectbox("Sex", ["male", "female"])
        race = middle.selectbox("Race (OMB)", iwpc.RACES)
        target = right.number_input("Target INR", value=2.5, step=0.1, help="1.0 to 5.0 (usually 2.5, or 3.5)")
        # Not tested unless the clinician says otherwise (issue 28 item 4): a default genotype would be invented.
        cyp = left.selectbox("CYP2C9 genotype", [iwpc.NOT_TESTED, *iwpc.CYP2C9_TYPES[:6]], index=0)
        vk = middle.selectbox("VKORC1 -1639 G>A genotype", [iwpc.NOT_TESTED, *iwpc.VKORC1_TYPES], index=0)
        inducer = right.selectbox("Enzyme inducer", list(INDUCERS))
        amiodarone = left.checkbox("Takes amiodarone")
        indications = middle.multiselect("Indication", list(INDICATIONS), format_func=INDICATIONS.get, default=[3])
        submitted = st.form_submit_button("Recommend a dose", type="primary")
    if submitted:
        st.session_state["dose-patient"] = {
            iwpc.AGE: age,
            # Empty = unknown; 0 is refused, as in a batch CSV and the API (one rule everywhere).
            iwpc.HEIGHT: height,
            iwpc.WEIGHT: weight,
            iwpc.GENDER: sex,
            iwpc.RACE: race,
            iwpc.TARGET_INR: target,
            iwpc.CYP2C9: None if cyp == iwpc.NOT_TESTED else cyp,
            iwpc.VKORC1: None if vk == iwpc.NOT_TESTED else vk,
            iwpc.AMIODARONE: int(amiodarone),
            **{column: int(INDUCERS[inducer] == column) for column in iwpc.INDUCERS},
            iwpc.INDICATION: "; ".join(str(i) for i in indications) or None,
        }
    return st.session_state.get("dose-patient")


def _one(strengths: list[float]) -> None:
    patient = _patient()
    if patient is None:
        st.info("Fill in the form (under a minute) and press Recommend a dose. Nothing you enter is written to disk.")
        return
    try:
        result = ui.audited(
            "dosing",
            "warfarin dosing",
            card,
            input_digest(str(sorted(patient.items()))),
            lambda: model.analyse([patient])[0],
            lambda r: {"out_of_domain": r["out_of_domain"]},
        )
    except MedcoreError as err:
        st.error(str(err))
        return
    for note in result["notes"]:
        st.info(note)
    if result["out_of_domain"]:
        st.warning(result["reason"])
        return
    shown = {
        iwpc.AGE: "age",
        iwpc.HEIGHT: "height (cm)",
        iwpc.WEIGHT: "weight (kg)",
        iwpc.CYP2C9: "CYP2C9",
        iwpc.VKORC1: "VKORC1",
    }
    st.caption(
        "For the inputs last submitted: "
        + ", ".join(
            f"{label} {patient[column] if patient[column] is not None else 'unknown'}"
            for column, label in shown.items()
        )
        + ". Change the form and press Recommend a dose again for new inputs."
    )
    low, high = result["interval"]
    left, right = st.columns([2, 3])
    left.metric(
        "Recommended starting dose",
        f"{result['dose']:.1f} mg/week",
        f"95 % interval {low:.1f}-{high:.1f} mg/week",
        delta_color="off",
        delta_arrow="off",
    )
    tablet_plan(left, result["dose"], strengths)  # only the strengths the clinician chose (issue 28 item 5)
    right.markdown("**Beside it** (mg/week)")
    right.dataframe(
        pd.DataFrame(
            [{"algorithm": "this model", "dose": round(result["dose"], 1)}]
            + [{"algorithm": k, "dose": round(v, 1)} for k, v in result["baselines"].items()]
        ),
        hide_index=True,
    )
    key = (model.name, str(sorted(patient.items())))  # explained once per patient, not on every rerun
    st.plotly_chart(
        waterfall_figure(ui.memo_each("dose-explain", key, lambda: model.explain([patient]))), key="waterfall"
    )
    rows = ui.memo_each("dose-genotypes", key, lambda: model.genotype_doses([patient]))
    doses = [r["dose"] for r in rows]
    if patient[iwpc.CYP2C9] is None or patient[iwpc.VKORC1] is None:
        st.info(
            f"Genotype not tested: testing could move this patient's dose anywhere from {min(doses):.0f} to "
            f"{max(doses):.0f} mg/week."
        )
    st.plotly_chart(genotype_figure(rows, (patient[iwpc.VKORC1], patient[iwpc.CYP2C9])), key="genotypes")


def _batch(strengths: list[float]) -> None:
    st.markdown("CSV with IWPC column names (any subset; empty = unknown). Up to 20,000 patients.")
    template_section()
    upload = st.file_uploader("Patients (CSV)", type=["csv"], key="dose-batch")
    if upload is None:
        return
    data = upload.getvalue()
    try:
        results = ui.audited(
            "dosing-batch",
            "warfarin dosing (batch)",
            card,
            input_digest(data),
            lambda: model.analyse(data),
            lambda rs: {"rows": len(rs), "out_of_domain": sum(r["out_of_domain"] for r in rs)},
        )
    except MedcoreError as err:
        st.error(str(err))
        return
    plans = batch_plans(results, strengths)
    frame = pd.DataFrame(
        [
            {
                "row": i + 1,
                "dose (mg/week)": r["dose"],
                "95 % low": r["interval"][0] if r["interval"] else None,
                "95 % high": r["interval"][1] if r["interval"] else None,
                **{k: v for k, v in r["baselines"].items()},
                "week of tablets": plans[i] or ("" if r["dose"] is None else "no tablet strength chosen"),
                "note": r["reason"] or "; ".join(r["notes"]),
            }
            for i, r in enumerate(results)
        ]
    )
    st.caption(f"{len(results)} patients; {sum(r['out_of_domain'] for r in results)} outside the training ranges.")
    st.dataframe(frame.round(1), hide_index=True)
    st.download_button("Download doses (CSV)", frame.to_csv(index=False), "warfarin-doses.csv", "text/csv")


chosen = strength_picker()
one_tab, batch_tab = st.tabs(["One patient", "Batch (CSV)"])
with one_tab:
    _one(chosen)
with batch_tab:
    _batch(chosen)
