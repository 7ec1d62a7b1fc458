"""Symptom assessment: type or tick -> triage first (what to do now, and why), findings, differential, questions."""

import json

import streamlit as st

from medcore import MedcoreError, ui
from medcore.assessment.knowledge import LEVELS
from medcore.core.audit import input_digest
from medcore.core.plots import probability_bars
from medcore.core.settings import LIMITS

ui.page_header("Symptom assessment")
model = ui.get_model("symptom-assessment")
st.markdown(f"**Intended use.** {model.card['intended_use']}")
# One patient's inputs, exactly the arguments of model.assess; answers and removed chips edit it.
case = st.session_state.setdefault("sa-case", None)


def answer(finding: str, yes: bool) -> None:
    """A next-question button: the answer joins the findings and the assessment updates."""
    case["symptoms" if yes else "absent"].append(finding)


with st.form("sa-form", border=False):
    text = st.text_area(
        "Describe the symptoms in plain words (the patient's or yours)",
        height=110,
        max_chars=LIMITS["max_symptom_chars"],
        placeholder="e.g. 58-year-old man, crushing chest pain going down his left arm, sweating, for 30 minutes",
    )
    left, middle, right = st.columns([2, 2, 3])
    age = left.number_input(
        "Age in years (optional)",
        value=None,  # no widget limits: an impossible age gets the model's message, not a silent block
        step=1.0,
        format="%g",
        help="0 to 120; a baby of 6 weeks is 0.12. Left empty, an age in the text is used.",
    )
    sex = middle.selectbox("Sex", ["not stated", "female", "male"])
    ticked = right.multiselect(
        "Or tick symptoms", model.symptoms, format_func=model.label_of, placeholder="Search symptoms..."
    )
    if st.form_submit_button("Assess", type="primary"):
        sex = None if sex == "not stated" else sex
        case = st.session_state["sa-case"] = {
            "text": text, "age": age, "sex": sex, "symptoms": list(ticked), "absent": [], "ignore": []
        }  # fmt: skip

if case is None or not (case["text"].strip() or case["symptoms"]):
    st.info("Type the symptoms or tick them, then press Assess. The triage level comes first, with its reasons.")
    st.stop()

digest = input_digest(json.dumps(case, sort_keys=True))
try:
    result = ui.audited(
        "assessment",
        "symptom assessment",
        model.card,
        digest,
        lambda: model.assess(**case),
        lambda r: {
            "level": r["triage"]["level"],
            "fits": r["fits"],
            "top3": [d["condition"] for d in r["differential"][:3]],
        },
    )
except MedcoreError as err:
    st.error(str(err))
    st.stop()

triage = result["triage"]
banner = dict(zip(LEVELS, (st.success, st.info, st.warning, st.error)))[triage["level"]]  # least to most urgent
banner(f"**Triage: {triage['level'].upper()}.** {triage['advice']}")
st.markdown("**Why:**\n" + "\n".join(f"- {reason}" for reason in triage["reasons"]))
where = {"emergency": ("emergency", "Nearest emergency departments"), "urgent": ("urgent care", "Nearest urgent care")}
need, label = where.get(triage["level"], ("primary care", "Where to go: nearest doctors"))
st.markdown(f"**[{label} (care plan) →](/Service_Recommendation?need={need.replace(' ', '+')})**")
for notice in result["notices"]:
    st.caption(notice)

st.subheader("Findings")
st.caption("Read from the words (with where they stand) or ticked. Remove a misread one; answer questions to add more.")
present = [f for f in result["findings"] if f["present"]]
kept = st.multiselect(
    "Present",
    [f["name"] for f in present],
    default=[f["name"] for f in present],
    format_func=model.label_of,
    key=f"sa-present-{digest[:12]}",
)
dropped = [f for f in present if f["name"] not in kept]
if dropped:  # a misread finding leaves the text's reading; a ticked or answered one leaves the ticks
    case["ignore"] += [f["name"] for f in dropped if f["source"] == "text"]
    case["symptoms"] = [name for name in case["symptoms"] if name not in {f["name"] for f in dropped}]
    st.rerun()
denied = [f["label"] for f in result["findings"] if not f["present"]]
if denied:
    st.markdown("**Denied:** " + ", ".join(denied))
quoted = [f"`{case['text'][f['start'] : f['end']]}` → {f['label']}" for f in present if f["start"] is not None]
if quoted:
    with st.expander("Where each finding was read"):
        st.markdown("\n".join(f"- {line}" for line in quoted))

st.subheader("Differential")
if result["fits"]:
    shown = {d["condition"]: d["probability"] for d in result["differential"][:5]}
    st.plotly_chart(probability_bars(shown), key="sa-bars")
    st.caption(
        f"Calibrated probabilities over {len(model.conditions)} conditions; 'none of these' "
        f"{result['none_of_these']:.0%}."
    )
else:
    considered = ", ".join(d["condition"] for d in result["differential"][:3])
    st.warning(
        "None of the conditions I know fits these findings: no diagnosis is suggested."
        + (f" Considered, not claimed: {considered}." if considered else "")
    )

st.subheader("Next questions")
if not result["next_questions"]:
    st.caption("No further question would change the assessment much.")
for question in result["next_questions"]:
    ask, yes, no = st.columns([6, 1, 1])
    ask.markdown(f"{question['question']}  \n*{question['why']}*")
    yes.button("Yes", key=f"sa-yes-{question['finding']}", on_click=answer, args=(question["finding"], True))
    no.button("No", key=f"sa-no-{question['finding']}", on_click=answer, args=(question["finding"], False))

with st.expander("How good is this assessment? (clinician-written vignettes)"):
    ui.assessment_figures(model.card)
