"""Survival page widgets: the patient form, the note on values not measured, the batch upload and the
treatment what-if toggles (model maths stay in medcore.survival)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from medcore.core.audit import input_digest
from medcore.core.errors import MedcoreError
from medcore.survival.inputs import (
    UNMEASURED_NOTE,
    column_key,
    filled_message,
    problems_table,
    read_batch,
    results_table,
    template_csv,
    unmeasured,
    unmeasured_spread,
)
from medcore.survival.plots import what_if_figure
from medcore.ui.cache import audited, session_memo

__all__ = ["describe_value", "what_if_section", "patient_form", "unmeasured_notice", "batch_section"]


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
    text = ", ".join(f"{by_name[k]['description']}: {describe_value(v, by_name[k])}" for k, v in changes.items())
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


def _unmeasured_captions(model) -> None:
    """What the optional values are and where to go without them (METABRIC's mRNA values)."""
    if model.name in UNMEASURED_NOTE:
        what, elsewhere = UNMEASURED_NOTE[model.name]
        st.caption(what)
        st.caption(elsewhere)


def patient_form(model) -> dict | None:
    """The covariate form; returns the last submitted row (kept in this session's memory only).

    Optional covariates (``medcore.survival.inputs.UNMEASURED``) start empty: empty means not
    measured (the row holds None for them).
    """
    name, optional = model.name, unmeasured(model.name)
    with st.form(f"patient-{name}"):
        st.markdown(
            "Defaults are the training cohort's median patient. A value outside its plausible range is refused."
        )
        _unmeasured_captions(model)
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
                continue
            whole, blank = covariate["type"] == "integer", covariate["name"] in optional
            median = int(covariate["median"]) if whole else float(covariate["median"])
            # No widget limits: a value out of range gets a message naming the range, not a silent block.
            row[covariate["name"]] = where.number_input(
                label,
                value=None if blank else median,
                step=1 if whole else None,
                placeholder="not measured" if blank else None,
                help=f"Plausible {low:g}-{high:g}; seen in training "
                f"{covariate['training_range'][0]:g}-{covariate['training_range'][1]:g}"
                + (f"; leave empty if not measured (the cohort median {median:g} is used)" if blank else ""),
                key=f"{name}-{covariate['name']}",
            )
        submitted = st.form_submit_button("Predict", type="primary")
    if submitted:
        problems = [
            f"{c['description']}: {row[c['name']]:g} is outside the plausible range {c['range'][0]:g}-{c['range'][1]:g}"
            + (f" {c['unit']}" if c["unit"] else "")
            for c in model.covariates
            if not c["categories"]
            and row[c["name"]] is not None
            and not c["range"][0] <= row[c["name"]] <= c["range"][1]
        ]
        if problems:
            st.session_state.pop(f"survival-row-{name}", None)  # never the previous patient's result
            for problem in problems:
                st.error(problem + ". Correct it and press Predict.")
            return None
        st.session_state[f"survival-row-{name}"] = row
    return st.session_state.get(f"survival-row-{name}")


def unmeasured_notice(model, row: dict, filled: list[str]) -> None:
    """Say which values were filled with the cohort median and how far the answer could move."""
    if not filled:
        return
    spread = session_memo(
        "survival-spread",
        (model.name, tuple(sorted(row.items())), tuple(filled)),
        lambda: unmeasured_spread(model, row, filled),
    )
    st.warning(filled_message(model, filled, spread))


def batch_section(model) -> None:
    """A CSV of patients -> the answers for the readable rows, the unreadable rows listed, a downloadable table."""
    name, card = model.name, model.card
    st.markdown(
        "CSV with one row per patient. Headers: the template's (with units and code keys) or the bare names "
        f"`{', '.join(c['name'] for c in model.covariates)}`. Any other column (e.g. `patient_id`) is kept in the "
        "results as it is. A row with a bad value is listed and skipped; the other rows are answered."
    )
    _unmeasured_captions(model)
    st.download_button(
        "Download a template (the median patient)", template_csv(model), f"{name}-template.csv", "text/csv"
    )
    with st.expander("What each column means (key to the coded columns)"):
        st.table(column_key(model).set_index("column"))
    upload = st.file_uploader("Patients (CSV)", type=["csv"], key=f"batch-{name}")
    if upload is None:
        return
    data = upload.getvalue()
    try:
        batch = session_memo(
            "survival-batch-read", (name, input_digest(data)), lambda: read_batch(model, data, upload.name)
        )
    except MedcoreError as err:
        st.error(str(err))
        return
    results = audited(
        "survival-batch",
        "survival and risk (batch)",
        card,
        input_digest(data),
        lambda: model.analyse(batch.clean) if len(batch.clean) else [],
        lambda rs: {
            "rows": batch.n_rows,
            "unreadable": batch.n_rows - len(rs),
            "out_of_domain": sum(r["out_of_domain"] for r in rs),
        },
    )
    if batch.problems:
        unread = batch.n_rows - len(batch.rows)
        st.error(
            (f"{unread} of {batch.n_rows} rows could not be read and got no answer; the other rows are answered below."
             if batch.rows else f"None of the {batch.n_rows} rows could be read.")
            + " Correct these cells and upload again (row 1 is the first patient under the header):"
        )  # fmt: skip
        st.dataframe(problems_table(batch), hide_index=True)
    refused = sum(r["out_of_domain"] for r in results)
    st.caption(
        f"{len(results)} {'patient' if len(results) == 1 else 'patients'} read; {refused} outside the training "
        "cohort (no answer given)."
    )
    if any(batch.filled.values()):
        st.caption(
            f"{len(batch.filled)} of {len(batch.rows)} patients lack some gene-expression values: the training "
            "cohort's median was used (see the note column), so their results rest on the values given."
        )
    table = results_table(model, batch, results)
    numbers = {
        c: "{:.1f}" if c == "risk percentile" else "{:.3f}"
        for c in table.columns
        if c.startswith(("risk p", model.endpoint))
    }
    st.dataframe(table.style.format(numbers, na_rep="–"), hide_index=True)  # "–": no answer (the note says why)
    st.download_button("Download results (CSV)", table.to_csv(index=False), f"{name}-results.csv", "text/csv")
