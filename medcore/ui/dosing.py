"""Warfarin page widgets: the tablet strengths stocked, the week of tablets, the batch template (maths in medcore.dosing)."""

from __future__ import annotations

import streamlit as st

from medcore.dosing.tablets import DEFAULT_STRENGTHS, STRENGTH_CHOICES, week_of_tablets
from medcore.dosing.template import batch_template, template_key

__all__ = ["NO_STRENGTH", "strength_picker", "tablet_plan", "batch_plans", "template_section"]

NO_STRENGTH = "No tablet strength chosen: choose the strengths your pharmacy stocks to see a week of tablets."


def strength_picker() -> list[float]:
    """The tablet strengths (mg) the clinician says the pharmacy stocks; the plan uses only these."""
    return st.multiselect(
        "Tablet strengths stocked (mg)",
        STRENGTH_CHOICES,
        default=list(DEFAULT_STRENGTHS),
        format_func=lambda mg: f"{mg:g} mg",
        key="dose-strengths",
        help="The week of tablets uses only these strengths, whole tablets, at most four a day.",
    )


def tablet_plan(container, dose: float, strengths: list[float]) -> None:
    """The week of tablets for ``dose`` mg/week from ``strengths`` only, with the gap when they cannot make it."""
    if not strengths:
        container.warning(NO_STRENGTH)
        return
    plan = week_of_tablets(dose, strengths)
    container.markdown(f"**As a week of tablets:** {plan['text']}; about {plan['total'] / 7:.1f} mg/day as planned.")
    container.caption(f"Day by day: {plan['by_day']}.")
    if plan["note"]:
        loud = abs(plan["difference"]) > 0.05 * dose
        (container.warning if loud else container.info)(plan["note"])


def batch_plans(results: list[dict], strengths: list[float]) -> list[str | None]:
    """Each batch patient's week of tablets (None without a dose or without strengths)."""
    return [week_of_tablets(r["dose"], strengths)["text"] if r["dose"] and strengths else None for r in results]


def template_section() -> None:
    """The batch CSV template (every column the model reads, one example patient) and its column key."""
    left, right = st.columns(2)
    left.download_button(
        "Download batch template (CSV)", batch_template(), "warfarin-batch-template.csv", "text/csv", key="dose-tpl"
    )
    key = template_key()
    right.download_button(
        "Download column key (CSV)", key.to_csv(index=False), "warfarin-batch-columns.csv", "text/csv", key="dose-key"
    )
    with st.expander("What each column means"):
        st.table(key.set_index("column"))
