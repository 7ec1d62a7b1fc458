"""The care plan page's widgets: where to go (table and map), a built history, lifestyle inputs,
the plan's tables and its evidence. Only ``medcore.ui`` imports streamlit."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from medcore.care.places import parse_location
from medcore.care.plots import places_figure, ranking_curves_figure, timeline_figure
from medcore.core.audit import input_digest
from medcore.core.cards import format_figure
from medcore.core.errors import MedcoreError
from medcore.core.settings import map_tiles
from medcore.ui.cache import audited, evaluation

__all__ = ["where_section", "built_history", "lifestyle_inputs", "plan_tables", "care_evidence"]

STATUS_MARKS = {"overdue": "OVERDUE", "due": "due", "done": "done"}
_COLOURS = {"OVERDUE": "color: #b00020; font-weight: 600", "due": "color: #a15c00", "done": "color: #1b7f3b"}


def where_section(model, header: str, location, key: str, default_need: str, ask: bool = False) -> None:
    """The nearest places for a chosen need around ``location`` (asked here when ``ask``), as a table and a map."""
    needs = model.needs
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
        origin, shown = model.locate(location)  # resolved once: the table and the map share it
        places = audited(
            key,
            "service recommendation: where to go",
            model.card,
            input_digest(repr(location), need),
            lambda: model.where(origin, need, k=5),
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
        tiles = map_tiles()
        figure = places_figure(origin, [{**p, "need": need} for p in places], shown, tiles)
        st.plotly_chart(figure, key=f"{key}-map")
        st.caption(
            "Rings mark the distance from your place."
            + ("" if tiles else " Drawn without a basemap (no internet needed; MEDCORE_MAP_TILES adds one).")
        )
    st.caption(model.card["care_plan"]["directory"]["lacks"])


def built_history(model) -> tuple[list, float, str, bool | None]:
    """A history typed in: items, dated entries (one row per vaccine dose), age, sex and pregnancy."""
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
    # No widget limits here or below: an impossible value gets the planner's message naming the field.
    age = left.number_input("Age (years; 0.25 = 3 months)", value=40.0, step=0.25, format="%.2f")
    sex = middle.radio("Sex", ["F", "M"], horizontal=True)
    pregnant = right.checkbox("Pregnant") if sex == "F" and 10 <= age <= 60 else None
    return history, age, sex, pregnant


def lifestyle_inputs(expanded: bool, pregnant: bool | None) -> dict:
    """The lifestyle fields the plan reads; blank ones are left out (unknown)."""
    with st.expander("Lifestyle (personalises How to live; leave blank if unknown)", expanded=expanded):
        a, b, c = st.columns(3)
        smoking = a.selectbox("Smoking", ["unknown", "never", "former", "current"])
        pack_years = b.number_input("Pack-years", value=None, step=1.0, disabled=smoking in ("unknown", "never"))
        quit_years = c.number_input("Years since quitting", value=None, step=1.0, disabled=smoking != "former")
        a, b, c = st.columns(3)
        height = a.number_input("Height (cm)", value=None, step=1.0)
        weight = b.number_input("Weight (kg)", value=None, step=0.5)
        activity = c.number_input("Moderate activity (minutes a week)", value=None, step=10.0)
        a, b, _ = st.columns(3)
        alcohol = a.number_input("Alcohol (units a week)", value=None, step=1.0)
        sleep = b.number_input("Sleep (hours a night)", value=None, step=0.5)
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
    return {key: value for key, value in lifestyle.items() if value is not None}


def plan_tables(result: dict, k: int, timeline: list[dict]) -> None:
    """What next (care gaps, suggestions, what was withheld, the record's timeline) and How to live."""
    st.subheader("Care gaps from guidelines")
    gaps = result["care_gaps"]
    if gaps:
        frame = pd.DataFrame(
            [
                {"status": STATUS_MARKS[g["status"]], "what": g["title"], "why": g["why"], "source": g["source"]}
                for g in gaps
            ]
        )
        st.table(frame.style.map(lambda value: _COLOURS.get(value, ""), subset=["status"]))
    else:
        st.info("No guideline item applies (check that age and sex are given).")
    st.subheader("Suggested from similar patients (after the rules)")
    shown = result["next"][:k]
    if shown:
        rows = [
            {
                "#": rank,
                "service": r["description"],
                "kind": r["kind"],
                "score": f"{r['score']:.3f}",
                "reason": r["reason"],
            }
            for rank, r in enumerate(shown, start=1)
        ]
        st.table(pd.DataFrame(rows).set_index("#"))
    with st.expander(f"Withheld by the rules ({len(result['withheld'])})"):
        held = [
            {"service": w["description"], "rule": w["rule"], "why": w["reason"], "source": w["source"]}
            for w in result["withheld"]
        ]
        st.table(pd.DataFrame(held) if held else pd.DataFrame({"service": ["nothing withheld"]}))
    if timeline:
        st.plotly_chart(timeline_figure(timeline, shown), key="timeline")
    st.header("How to live")
    if result["advice"]:
        advice = [
            {"topic": a["topic"], "advice": a["text"], "why": a["why"], "source": a["source"]} for a in result["advice"]
        ]
        st.table(pd.DataFrame(advice))
    else:
        st.info("No advice yet: add the patient's conditions or lifestyle above.")


def care_evidence(model) -> None:
    """How good the plan is: held-out patients (before and after the rules) and the written cases."""
    with st.expander("How good is this? (held-out patients and written cases)"):
        shown = evaluation(model.name)
        st.plotly_chart(ranking_curves_figure(shown["curves"], shown["k"], "blend"), key="curves")
        validation = model.card["metrics"]["validation"]
        plan_card = model.card["care_plan"]
        figures = "; ".join(format_figure(validation, key) for key in ("hr@10", "ndcg@10", "recall@10"))
        st.caption(
            f"Suggestions before the rules: {shown['split']}. {figures}; popularity baseline: "
            f"{format_figure(validation, 'popularity hr@10', 'HR@10')}. After the rules (what is shown): "
            f"{format_figure(plan_card['filtered_validation'], 'hr@10', 'HR@10')}."
        )
        cases = plan_card["outpatient_cases"]
        st.caption(
            f"Written outpatient cases (n={cases['n_cases']}; by the team that wrote the rules, so a consistency "
            f"check): guideline items present {cases['present']} of {cases['expected']} "
            f"({format_figure(cases, 'present_share', 'share')}); forbidden items shown {cases['forbidden_shown']} "
            f"of {cases['forbidden_checked']} checked."
        )
