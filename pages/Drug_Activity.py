"""Drug activity: a SMILES -> predicted properties, atoms coloured by contribution, nearest training molecules."""

import pandas as pd
import streamlit as st

from medcore import MedcoreError, ui
from medcore.core.audit import input_digest
from medcore.core.cards import format_figure
from medcore.molecules.data import task_words
from medcore.molecules.plots import molecule_svg, task_figure
from medcore.ui.molecules import (
    batch_threshold_caption,
    decision_columns,
    decisions_section,
    disagreement_section,
    published,
)

ui.page_header("Drug activity")
model = ui.choose_model("molecule", "Property")
name = model.name
card = model.card
validation = card["metrics"]["validation"]
headline = "rmse" if model.regression else "auc"
st.markdown(f"**Intended use.** {card['intended_use']}")
st.caption(
    f"Model: {card['architecture']['predictor']}; on the validation scaffolds (new chemotypes): "
    f"{format_figure(validation, headline, 'RMSE' if model.regression else 'mean AUC')}. These scaffolds also chose "
    "and calibrated the model, so the figure is optimistic; on the withheld scaffold test part such models score "
    f"far lower (published test {'RMSE' if model.regression else 'AUC'}: {published(card)}). Research use only."
)
EXAMPLES = {
    "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
    "caffeine": "Cn1cnc2c1c(=O)n(C)c(=O)n2C",
    "diazepam (crosses the blood-brain barrier)": "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21",
    "atenolol (barely crosses it)": "CC(C)NCC(O)COc1ccc(CC(N)=O)cc1",
    "sodium benzoate (a salt)": "O=C([O-])c1ccccc1.[Na+]",
}


def _svg(smiles: str, weights=None) -> str:
    text = molecule_svg(smiles, weights)
    return text[text.index("<svg") :]


def _one() -> None:
    """One molecule: drawing with contributions, predictions, neighbours, domain verdict."""
    example = st.selectbox("Example", ["(type your own)", *EXAMPLES])
    default = EXAMPLES.get(example, "")
    smiles = st.text_input("SMILES", value=default, key=f"smiles-{example}", placeholder="e.g. CCO")
    if not smiles.strip():
        st.info("Type a SMILES (or pick an example). Nothing you enter is written to disk.")
        return
    try:
        result = ui.audited(
            "molecule",
            "drug activity",
            card,
            input_digest(smiles),
            lambda: model.analyse([smiles])[0],
            lambda r: {"error": bool(r["error"]), "out_of_domain": r["out_of_domain"]},
        )
    except MedcoreError as err:
        st.error(str(err))
        return
    if result["error"]:
        st.error(result["error"])
        return
    for note in result["notes"]:  # the reason there is no prediction is a warning; the rest are notes
        (st.warning if note == result.get("reason") or "Outside" in note else st.info)(note)
    task = model.tasks[0]
    if len(model.tasks) > 1 and result["predictions"]:
        task = st.selectbox(
            "Explain the task",
            model.tasks,
            format_func=task_words,
            index=max(range(len(model.tasks)), key=lambda j: result["predictions"][model.tasks[j]]),
        )
    explanation = model.explain(smiles, task)
    left, right = st.columns([3, 2])
    with left:
        st.image(_svg(smiles, explanation["atoms"] if result["predictions"] else None), caption=result["canonical"])
        st.caption(
            f"Atoms shaded red push the {'predicted ' if model.regression else 'prediction that it '}"
            f"{task_words(task)} up, blue push it down ({explanation['method']})."
            if result["predictions"]
            else "No prediction, so no contributions."
        )
    with right:
        if result["predictions"]:
            if model.regression:
                value = result["predictions"][task]
                low, high = result["interval"][task]
                st.metric(
                    "Predicted log solubility (log10 mol/L)",
                    f"{value:.2f}",
                    f"95 % interval {low:.2f} to {high:.2f}",
                    delta_color="off",
                    delta_arrow="off",
                )
            elif len(model.tasks) == 1:
                st.metric(
                    f"Probability it {task_words(task)}",
                    f"{result['predictions'][task]:.0%}",
                    "calibrated probability",
                    delta_color="off",
                    delta_arrow="off",
                )
            else:
                st.plotly_chart(task_figure(result, model.tasks), key="tasks")
            decisions_section(result.get("decisions", {}))
        st.markdown(f"Nearest training molecule: Tanimoto **{result['similarity']:.2f}**.")
    found = model.neighbours(smiles, 5)
    (st.success if found["in_domain"] else st.warning)(found["verdict"])
    disagreement_section(found, task)
    st.subheader("Most similar training molecules")
    columns = st.columns(len(found["neighbours"]))
    for cell, neighbour in zip(columns, found["neighbours"]):
        cell.image(_svg(neighbour["smiles"]))
        measured = neighbour["labels"][task]  # the task shown above; None = not measured
        answer = (
            "not measured"
            if measured is None
            else ("yes" if measured else "no")
            if not model.regression
            else f"{measured:g}"
        )
        cell.caption(f"Tanimoto {neighbour['similarity']:.2f}; {task_words(task)}: {answer} (measured)")


def _batch() -> None:
    """A CSV of SMILES -> a downloadable table (a progress bar for long batches)."""
    st.markdown("CSV with a `smiles` column (other columns are kept out of the results). Up to 20,000 molecules.")
    upload = st.file_uploader("Molecules (CSV)", type=["csv"], key=f"batch-{name}")
    if upload is None:
        return
    data = upload.getvalue()
    from medcore.molecules.data import read_table, smiles_column

    bar = st.progress(0.0, text="Predicting...")
    try:
        table = read_table(data, upload.name)
        smiles = [str(s) if s == s else "" for s in table[smiles_column(table)]]
        results = ui.audited(
            "molecule-batch",
            "drug activity (batch)",
            card,
            input_digest(data),
            lambda: model.analyse(smiles, lambda f: bar.progress(f, text="Predicting...")),
            lambda rs: {"rows": len(rs), "errors": sum(bool(r["error"]) for r in rs)},
        )
    except MedcoreError as err:
        st.error(str(err))
        return
    finally:
        bar.empty()
    rows = []
    for index, r in enumerate(results, start=1):
        row = {"row": index, "smiles": r["smiles"], **{task_words(t): r["predictions"].get(t) for t in model.tasks}}
        if model.regression and r.get("interval"):
            row["95 % low"], row["95 % high"] = r["interval"][model.tasks[0]]
        row.update(decision_columns(r))
        row["similarity"] = r.get("similarity")
        row["note"] = r["error"] or "; ".join(r.get("notes", []))
        rows.append(row)
    frame = pd.DataFrame(rows)
    errors = sum(bool(r["error"]) for r in results)
    outside = sum(bool(r["out_of_domain"]) for r in results)
    st.caption(
        f"{len(results)} molecules: {errors} unreadable, {outside} outside the applicability domain or lone "
        "counter-ions (no prediction)."
    )
    st.dataframe(frame.round(4), hide_index=True)
    if not model.regression:
        batch_threshold_caption(card, model.tasks)
    st.download_button("Download results (CSV)", frame.to_csv(index=False), f"{name}-predictions.csv", "text/csv")


one_tab, batch_tab = st.tabs(["One molecule", "Batch (CSV)"])
with one_tab:
    _one()
with batch_tab:
    _batch()
