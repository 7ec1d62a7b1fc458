"""Survival page widgets: the treatment what-if toggles and their curve (model maths stay in medcore.survival)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from medcore.survival.plots import what_if_figure

__all__ = ["describe_value", "what_if_section"]


def describe_value(value: float, covariate: dict) -> str:
    """A covariate's value in words: its category name when coded, else the number."""
    return covariate["categories"].get(str(int(value)), f"{value:g}")


def what_if_section(model, row: dict) -> None:
    """Toggles that switch each treatment of ``row``; the curve, table and caveats under the other choice."""
    if not model.treatments:
        return
    st.subheader("Treatment what-if")
    by_name = {c["name"]: c for c in model.covariates}
    changes = {}
    for cell, treatment in zip(st.columns(len(model.treatments)), model.treatments):
        covariate, current = by_name[treatment], int(row[treatment])
        label = f"{covariate['description']}: switch to '{describe_value(1 - current, covariate)}'"
        if cell.toggle(label, key=f"wi-{model.name}-{treatment}"):
            changes[treatment] = 1 - current
    if not changes:
        st.caption("Switch a treatment to see the curve under the other choice.")
        return
    what = model.what_if([row], changes)
    text = ", ".join(f"{k} -> {describe_value(v, by_name[k])}" for k, v in changes.items())
    st.plotly_chart(what_if_figure(what, model.time_unit, text), key="whatif")
    st.table(
        pd.DataFrame(
            {label: [f"{a:.0%}", f"{b:.0%}"] for label, (a, b) in what["survival_at"].items()},
            index=["as recorded", text],
        )
    )
    for warning in what["warnings"]:
        st.warning(warning)
    st.info(what["notice"])
