"""Symptom assessment: type or tick -> triage first (what to do now, and why), findings, differential, questions."""

import streamlit as st

from medcore import MedcoreError, ui
from medcore.assessment.model import ADVICE
from medcore.core.audit import input_digest
from medcore.core.plots import probability_bars
from medcore.core.settings import LIMITS

ui.page_header("Symptom assessment")
model = ui.get_model("symptom-assessment")
st.markdown(f"**Intended use.** {model.card['intended_use']}")
state = st.session_state
for key, empty in (("sa-text", ""), ("sa-yes", []), ("sa-no", []), ("sa-removed", [])):
    state.setdefault(key, empty)


def answer(finding: str, yes: bool) -> None:
    """A next-question button: the answer joins the findings and the assessment updates."""
    state["sa-yes" if yes else "sa-no"] = [*state["sa-yes" if yes else "sa-no"], finding]


with st.form("sa-form", border=False):
    text = st.text_area(
        "Describe the symptoms in plain words (the patient's or yours)",
        height=110,
        max_chars=LIMITS["max_symptom_chars"],
        placeholder="e.g. 58-year-old man, crushing chest pain going down his left arm, sweating, for 30 minutes",
    )
    left, middle, right = st.columns([2, 2, 3])
    age = left.number_input("Age in years (optional)", min_value=0.0, max_value=120.0, value=None, step=1.0,
                            help="0 to 120; a baby of 6 weeks is 0.12. Left empty, an age in the text is used.")
    sex = middle.selectbox("Sex", ["not stated", "female", "male"])
    ticked = right.multiselect("Or tick symptoms", model.symptoms, format_func=model.label_of,
                               placeholder="Search symptoms...")
    if st.form_submit_button("Assess", type="primary"):
        state.update({"sa-text": text, "sa-ticked": ticked, "sa-age": age, "sa-sex": sex, "sa-yes": [],
                      "sa-no": [], "sa-removed": []})

if not state["sa-text"].strip() and not state.get("sa-ticked"):
    st.info("Type the symptoms or tick them, then press Assess. The triage level comes first, with its reasons.")
    st.stop()

case = (state["sa-text"], tuple(state.get("sa-ticked", [])), state.get("sa-age"), state.get("sa-sex"),
        tuple(state["sa-yes"]), tuple(state["sa-no"]), tuple(state["sa-removed"]))
try:
    result = ui.audited(
        "assessment", "symptom assessment", model.card, input_digest(repr(case)),
        lambda: model.assess(
            state["sa-text"], age=state.get("sa-age"),
            sex=None if state.get("sa-sex") in (None, "not stated") else state["sa-sex"],
            symptoms=[*state.get("sa-ticked", []), *state["sa-yes"]], absent=state["sa-no"],
            ignore=state["sa-removed"],
        ),
        lambda r: {"level": r["triage"]["level"], "fits": r["fits"],
                   "top3": [d["condition"] for d in r["differential"][:3]]},
    )
except MedcoreError as err:
    st.error(str(err))
    st.stop()

triage = result["triage"]
banner = {"emergency": st.error, "urgent": st.warning, "routine": st.info, "self-care": st.success}[triage["level"]]
banner(f"**Triage: {triage['level'].upper()}.** {ADVICE[triage['level']]}")
st.markdown("**Why:**\n" + "\n".join(f"- {reason}" for reason in triage["reasons"]))
st.markdown(f"[Where to go for {triage['level']} care →](/Service_Recommendation)")
for notice in result["notices"]:
    st.caption(notice)

st.subheader("Findings")
st.caption("Read from the words (with where they stand) or ticked. Remove a misread one; answer questions to add more.")
present = [f for f in result["findings"] if f["present"]]
denied = [f for f in result["findings"] if not f["present"]]
kept = st.multiselect(
    "Present", [f["name"] for f in present], default=[f["name"] for f in present], format_func=model.label_of,
    key=f"sa-present-{input_digest(repr(case))[:12]}",
)
dropped = [f["name"] for f in present if f["name"] not in kept]
if dropped:
    from_text = [name for name in dropped if any(f["name"] == name and f["source"] == "text" for f in present)]
    state["sa-removed"] = [*state["sa-removed"], *from_text]
    state["sa-ticked"] = [n for n in state.get("sa-ticked", []) if n not in dropped]
    state["sa-yes"] = [n for n in state["sa-yes"] if n not in dropped]
    st.rerun()
if denied:
    st.markdown("**Denied:** " + ", ".join(f["label"] for f in denied))
quoted = [f"`{state['sa-text'][f['start']:f['end']]}` → {f['label']}" for f in present if f["start"] is not None]
if quoted:
    with st.expander("Where each finding was read"):
        st.markdown("\n".join(f"- {line}" for line in quoted))

st.subheader("Differential")
if result["fits"]:
    shown = {d["condition"]: d["probability"] for d in result["differential"][:5]}
    st.plotly_chart(probability_bars(shown), key="sa-bars")
    st.caption(f"Calibrated probabilities over {len(model.conditions)} conditions; 'none of these' "
               f"{result['none_of_these']:.0%}.")
else:
    st.warning("None of the conditions I know fits these findings: no diagnosis is suggested. "
               + ("Considered, not claimed: " + ", ".join(d["condition"] for d in result["differential"][:3]) + "."
                  if result["differential"] else ""))

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
