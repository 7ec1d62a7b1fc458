"""Care plan: what next (guideline care gaps, filtered suggestions), how to live, where to go."""

from datetime import date

import pandas as pd
import streamlit as st

from medcore import MedcoreError, ui
from medcore.care.places import parse_location
from medcore.care.plan import NO_LOCATION
from medcore.care.plots import places_figure, ranking_curves_figure, timeline_figure
from medcore.core.audit import input_digest
from medcore.core.cards import format_figure
from medcore.core.settings import map_tiles

ui.page_header("Care plan")
try:
    model = ui.get_model("care-recommender")
except MedcoreError as err:
    st.error(str(err))
    st.stop()
st.markdown(f"**Intended use.** {model.card['intended_use']}")
wanted_need = st.query_params.get("need", "")


needs = model.needs
need_words = {"urgent": "urgent care", "routine": "primary care", "self-care": "primary care"}
default_need = need_words.get(wanted_need, wanted_need) if wanted_need else "primary care"
default_need = default_need if default_need in needs else "primary care"


def where_section(header: str, location, key: str, ask: bool = False) -> None:
    """The nearest places for a chosen need around ``location`` (asked here when ``ask``), as a table and a map."""
    st.subheader(header)
    if ask:
        typed_here = st.text_input(
            "Where are you? Latitude, longitude; a US ZIP code; or 'City, ST'", key=f"{key}-here"
        )
        location = parse_location(typed_here)
    # The emergency section keeps to emergency departments; the plan's section lets the need be chosen.
    need = "emergency" if ask else st.selectbox("Need", needs, index=needs.index(default_need), key=f"{key}-need")
    if location is None:
        st.info("Type a location (latitude, longitude; a ZIP code; or 'City, ST') to see the nearest places.")
        return
    try:
        places = ui.audited(
            key,
            "service recommendation: where to go",
            model.card,
            input_digest(repr(location), need),
            lambda: model.where(location, need, k=5),
            lambda r: {"need": need, "found": len(r)},
        )
    except MedcoreError as err:
        st.error(str(err))
        return
    if need == "emergency":
        st.error("**In an emergency call 911** (or your local emergency number) rather than driving yourself.")
    st.table(
        pd.DataFrame(
            [
                {
                    "#": rank,
                    "name": p["name"],
                    "km": f"{p['distance_km']:.1f}",
                    "emergency dept.": "yes" if p["emergency"] else "no",
                    "CMS stars": str(p["quality"]) if p["quality"] is not None else "n/a",
                    "phone": p["phone"] or "—",
                    "address": p["address"],
                    "why": p["why"],
                }
                for rank, p in enumerate(places, start=1)
            ]
        ).set_index("#")
    )
    if places:
        origin, shown = model.locate(location)
        tiles = map_tiles()
        figure = places_figure(origin, [{**p, "need": need} for p in places], shown, tiles)
        st.plotly_chart(figure, key=f"{key}-map")
        st.caption(
            "Rings mark the distance from your place."
            + ("" if tiles else " Drawn without a basemap (no internet needed; MEDCORE_MAP_TILES adds one).")
        )
    st.caption(model.card["care_plan"]["directory"]["lacks"])


if default_need == "emergency":  # opened from an emergency triage: the nearest emergency departments first
    where_section("Where to go now: nearest emergency departments", None, "now", ask=True)
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
    items = model.items
    chosen_items = st.multiselect(
        "History items (search by description)",
        list(items),
        format_func=lambda i: f"{items[i]['description']} ({items[i]['kind']})",
        placeholder="Type to search...",
    )
    st.caption(
        "Dated entries (optional): a date lets the plan say *overdue*; enter each vaccine dose on its own row "
        "to count doses."
    )
    dated = st.data_editor(
        pd.DataFrame({"item": pd.Series(dtype="object"), "date": pd.Series(dtype="datetime64[ns]")}),
        num_rows="dynamic",
        column_config={
            "item": st.column_config.SelectboxColumn(
                "item", options=list(items), help="A service, vaccine dose or condition"
            ),
            "date": st.column_config.DateColumn("date", max_value=date.today(), format="YYYY-MM-DD"),
        },
        key="care-dated",
        width="stretch",
    )
    history = list(chosen_items) + [
        {"item": row["item"], "date": row["date"].isoformat()[:10] if pd.notna(row["date"]) else None}
        for row in dated.to_dict("records")
        if isinstance(row.get("item"), str) and row["item"]
    ]
    left, middle, right = st.columns(3)
    age = left.number_input("Age (years; 0.25 = 3 months)", 0.0, 120.0, 40.0, 0.25, format="%.2f")
    sex = middle.radio("Sex", ["F", "M"], horizontal=True)
    pregnant = right.checkbox("Pregnant") if sex == "F" and 10 <= age <= 60 else None
    timeline, default_location, as_of = [], "", None

with st.expander("Lifestyle (personalises How to live; leave blank if unknown)", expanded=source.startswith("Build")):
    a, b, c = st.columns(3)
    smoking = a.selectbox("Smoking", ["unknown", "never", "former", "current"])
    pack_years = b.number_input("Pack-years", 0.0, 200.0, None, 1.0, disabled=smoking in ("unknown", "never"))
    quit_years = c.number_input("Years since quitting", 0.0, 100.0, None, 1.0, disabled=smoking != "former")
    a, b, c = st.columns(3)
    height = a.number_input("Height (cm)", 40.0, 250.0, None, 1.0)
    weight = b.number_input("Weight (kg)", 2.0, 400.0, None, 0.5)
    activity = c.number_input("Moderate activity (minutes a week)", 0.0, 5040.0, None, 10.0)
    a, b, _ = st.columns(3)
    alcohol = a.number_input("Alcohol (units a week)", 0.0, 300.0, None, 1.0)
    sleep = b.number_input("Sleep (hours a night)", 0.0, 24.0, None, 0.5)
lifestyle = {
    "smoking": None if smoking == "unknown" else smoking,
    "pack_years": pack_years if smoking in ("former", "current") else None,
    "quit_years": quit_years if smoking == "former" else None,
    "height_cm": height,
    "weight_kg": weight,
    "activity": activity,
    "alcohol": alcohol,
    "sleep": sleep,
    "pregnant": pregnant or None,
}
lifestyle = {key: value for key, value in lifestyle.items() if value is not None}

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
st.subheader("Care gaps from guidelines")
status_marks = {"overdue": "OVERDUE", "due": "due", "done": "done"}
gaps = result["care_gaps"]
if gaps:
    colours = {"OVERDUE": "color: #b00020; font-weight: 600", "due": "color: #a15c00", "done": "color: #1b7f3b"}
    frame = pd.DataFrame(
        [
            {"status": status_marks[g["status"]], "what": g["title"], "why": g["why"], "source": g["source"]}
            for g in gaps
        ]
    )
    st.table(frame.style.map(lambda value: colours.get(value, ""), subset=["status"]))
else:
    st.info("No guideline item applies (check that age and sex are given).")
st.subheader("Suggested from similar patients (after the rules)")
shown = result["next"][:k]
if shown:
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
with st.expander(f"Withheld by the rules ({len(result['withheld'])})"):
    st.table(
        pd.DataFrame(
            [
                {"service": w["description"], "rule": w["rule"], "why": w["reason"], "source": w["source"]}
                for w in result["withheld"]
            ]
        )
        if result["withheld"]
        else pd.DataFrame({"service": ["nothing withheld"]})
    )
if timeline:
    st.plotly_chart(timeline_figure(timeline, shown), key="timeline")

st.header("How to live")
if result["advice"]:
    st.table(
        pd.DataFrame(
            [
                {"topic": a["topic"], "advice": a["text"], "why": a["why"], "source": a["source"]}
                for a in result["advice"]
            ]
        )
    )
else:
    st.info("No advice yet: add the patient's conditions or lifestyle above.")

st.header("Where to go")
where_section("Nearest right places", location, "where")

with st.expander("How good is this? (held-out patients and written cases)"):
    evaluation = ui.evaluation(model.name)
    st.plotly_chart(ranking_curves_figure(evaluation["curves"], evaluation["k"], "blend"), key="curves")
    validation = model.card["metrics"]["validation"]
    plan_card = model.card["care_plan"]
    figures = "; ".join(format_figure(validation, key) for key in ("hr@10", "ndcg@10", "recall@10"))
    st.caption(
        f"Suggestions before the rules: {evaluation['split']}. {figures}; popularity baseline: "
        f"{format_figure(validation, 'popularity hr@10', 'HR@10')}. After the rules (what is shown): "
        f"{format_figure(plan_card['filtered_validation'], 'hr@10', 'HR@10')}."
    )
    cases = plan_card["outpatient_cases"]
    st.caption(
        f"Written outpatient cases (n={cases['n_cases']}; by the team that wrote the rules, so a consistency check): "
        f"guideline items present {cases['present']} of {cases['expected']} "
        f"({format_figure(cases, 'present_share', 'share')}); forbidden items shown {cases['forbidden_shown']} "
        f"of {cases['forbidden_checked']} checked."
    )
