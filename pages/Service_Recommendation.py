"""Care plan: what next (guideline care gaps, filtered suggestions), how to live, where to go."""

from datetime import date

import streamlit as st

from medcore import MedcoreError, ui
from medcore.care.places import parse_location
from medcore.care.plan import NO_LOCATION
from medcore.core.audit import input_digest

ui.page_header("Care plan")
try:
    model = ui.get_model("care-recommender")
except MedcoreError as err:
    st.error(str(err))
    st.stop()
st.markdown(f"**Intended use.** {model.card['intended_use']}")
wanted_need = st.query_params.get("need", "")
need_words = {"urgent": "urgent care", "routine": "primary care", "self-care": "primary care"}
default_need = need_words.get(wanted_need, wanted_need) if wanted_need else "primary care"
default_need = default_need if default_need in model.needs else "primary care"

if default_need == "emergency":  # opened from an emergency triage: the nearest emergency departments first
    ui.where_section(model, "Where to go now: nearest emergency departments", None, "now", default_need, ask=True)
    st.divider()

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
    # Every vaccine dose with its date (to count doses); the first date of everything else.
    history = [{"item": e["item"], "date": e["date"]} for e in timeline if e["kind"] != "immunization"]
    history += [{"item": item, "date": day} for item, day in chosen["doses"]] or [
        {"item": e["item"], "date": e["date"]} for e in timeline if e["kind"] == "immunization"
    ]
    # The record's age is its age on its last day, so the plan is made as of that day.
    as_of = date.fromisoformat(chosen["as_of"]) if chosen.get("as_of") else None
    home = chosen.get("location")
    default_location = f"{home[0]:.2f}, {home[1]:.2f}" if home else ""
    pregnant = None
else:
    history, age, sex, pregnant = ui.built_history(model)
    timeline, default_location, as_of = [], "", None
lifestyle = ui.lifestyle_inputs(source.startswith("Build"), pregnant)

left, right = st.columns([2, 1])
typed = left.text_input(
    "Location: latitude, longitude; a US ZIP code; or 'City, ST'",
    default_location,
    help="Resolved from the facility directory itself (no internet). A picked patient's home is rounded to about 1 km.",
)
k = right.slider("Suggestions to show", 1, 20, 10)
location = parse_location(typed)

history_ids = [entry if isinstance(entry, str) else f"{entry['item']}@{entry['date']}" for entry in history]
try:
    result = ui.audited(
        "recommendation",
        "service recommendation",
        model.card,
        input_digest(*history_ids, str(age), str(sex), repr(sorted(lifestyle.items()))),
        # Where to go is looked up below for the chosen need, so a bad location leaves the rest of the plan.
        lambda: model.plan(history, age=age, sex=sex, lifestyle=lifestyle, k=50, today=as_of),
        lambda r: {
            "gaps_due": sum(g["status"] != "done" for g in r["care_gaps"]),
            "next": len(r["next"]),
            "withheld": len(r["withheld"]),
            "unknown": len(r["unknown"]),
        },
    )
except MedcoreError as err:
    st.error(str(err))
    st.stop()

for notice in result["notices"]:
    if notice != NO_LOCATION and not notice.startswith("Only "):  # the page asks for 50 and shows the slider's k
        st.caption(notice)
if len(result["next"]) < k:
    st.caption(f"Only {len(result['next'])} suggestion(s) remain after the rules (asked for {k}).")
if result["unknown"]:
    st.warning(
        "Not recognised and ignored (the rest of the plan uses the known items): " + ", ".join(result["unknown"])
    )

st.header("What next")
if as_of is not None:
    st.caption(f"As of the last day of this synthetic record ({as_of.isoformat()}), when the patient was {age:.0f}.")
ui.plan_tables(result, k, timeline)
st.header("Where to go")
ui.where_section(model, "Nearest right places", location, "where", default_need)
ui.care_evidence(model)
