"""The page's batch reader and the values a clinic may not have (issue 28 items 8 and 10), on the shipped bundles."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import medcore
from medcore import InvalidInputError
from medcore.survival.data import COHORTS
from medcore.survival.inputs import (
    UNMEASURED,
    column_key,
    fill_unmeasured,
    filled_message,
    read_batch,
    results_table,
    template_csv,
    unmeasured_spread,
)
from tests.survival.conftest import synthetic_cohort

GENES = ["egfr_expr", "pgr_expr", "erbb2_expr", "mki67_expr"]


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def _patients(n: int = 4, seed: int = 21) -> pd.DataFrame:
    return synthetic_cohort(n, seed=seed).drop(columns=["duration", "event"])


@pytest.mark.parametrize("name", list(COHORTS))
def test_the_template_is_read_as_is_and_its_key_explains_every_coded_column(name):
    model = medcore.load_model(name)
    batch = read_batch(model, template_csv(model).encode(), "template.csv")
    assert batch.problems == [] and batch.rows == [1] and batch.filled == {}
    assert list(batch.carried["patient_id"]) == ["example-1"]
    for covariate in model.covariates:
        assert batch.clean[covariate["name"]].iloc[0] == pytest.approx(covariate["median"], rel=1e-5)
    key = column_key(model)
    assert list(key["column"]) == ["patient_id", *batch.columns]  # the key names the template's own headers
    coded = [c for c in model.covariates if c["categories"]]
    for covariate in coded:
        row = key[key["column"].str.startswith(covariate["name"] + " (")].iloc[0]
        assert all(f"{code} = {word}" in row["column"] for code, word in covariate["categories"].items())


def test_one_bad_cell_lists_its_row_and_leaves_the_others_readable():
    model = medcore.load_model("survival-gbsg")
    frame = _patients().astype(object)
    frame.loc[1, "age"] = "sixty"
    frame.loc[3, "positive_nodes"] = 250
    frame.loc[3, "postmenopausal"] = None  # a row may have several bad cells: each is listed
    batch = read_batch(model, _csv(frame), "ward.csv")
    assert batch.rows == [1, 3]
    assert batch.problems == [
        {"row": 2, "column": "age", "value": "sixty", "problem": "is not a number",
         "allowed": "Age at surgery, years, 18-110"},
        {"row": 4, "column": "postmenopausal", "value": "(empty)", "problem": "is missing",
         "allowed": "Post-menopausal, 0-1 (0 = no, 1 = yes)"},
        {"row": 4, "column": "positive_nodes", "value": "250",
         "problem": "is outside the plausible range 0-100 nodes",
         "allowed": "Number of positive lymph nodes, nodes, 0-100"},
    ]  # fmt: skip
    expected = model.clean(frame.drop(index=[1, 3]))
    pd.testing.assert_frame_equal(batch.clean, expected)
    table = results_table(model, batch, model.analyse(batch.clean))
    assert list(table["row"]) == [1, 2, 3, 4] and len(table) == 4
    assert "'age' = 'sixty' is not a number (expected: Age at surgery, years, 18-110)" in table["note"].iloc[1]
    assert np.isnan(table["risk percentile"].iloc[1]) and not np.isnan(table["risk percentile"].iloc[0])


def test_words_for_codes_units_and_descriptions_in_headers_are_read_and_a_wrong_unit_is_refused():
    model = medcore.load_model("survival-gbsg")
    frame = _patients()
    plain = read_batch(model, _csv(frame), "plain.csv").clean
    labelled = frame.rename(
        columns={
            "age": "Age (years)",
            "tumor_size_cat": "tumour size group",
            "estrogen_receptor": "Oestrogen receptor (fmol/L)",
        }
    )
    labelled["hormone_therapy"] = labelled["hormone_therapy"].map({0: "no", 1: "Yes"})
    pd.testing.assert_frame_equal(read_batch(model, _csv(labelled), "labelled.csv").clean, plain)
    with pytest.raises(InvalidInputError, match=r"'age \(months\)' looks like age, but 'months' is not its unit"):
        read_batch(model, _csv(frame.rename(columns={"age": "age (months)"})), "months.csv")
    with pytest.raises(InvalidInputError, match="both give age"):
        read_batch(model, _csv(frame.assign(**{"age (years)": frame["age"]})), "twice.csv")
    with pytest.raises(InvalidInputError, match=r"lacks the column\(s\) positive_nodes .*'nodes'"):
        read_batch(model, _csv(frame.rename(columns={"positive_nodes": "nodes"})), "typo.csv")


def test_metabric_genes_may_be_blank_or_absent_and_the_row_says_so():
    model = medcore.load_model("survival-metabric")
    row = {**model.reference_row, "age": 70.0}
    frame = pd.DataFrame([row, row]).drop(columns=["mki67_expr"])
    frame.loc[1, "egfr_expr"] = np.nan
    batch = read_batch(model, _csv(frame), "clinic.csv")
    assert batch.problems == [] and batch.filled == {1: ["mki67_expr"], 2: ["egfr_expr", "mki67_expr"]}
    table = results_table(model, batch, model.analyse(batch.clean))
    assert table["note"].iloc[1] == "not measured, the training cohort's median used: egfr_expr, mki67_expr"
    with pytest.raises(InvalidInputError, match="lacks the column"):  # the clinical columns stay required
        read_batch(model, _csv(frame.drop(columns=["age"])), "clinic.csv")


def test_a_form_without_genes_is_filled_with_the_median_and_the_spread_brackets_the_answer():
    model = medcore.load_model("survival-metabric")
    row = {**model.reference_row, **{gene: None for gene in GENES}, "age": 70.0}
    filled_row, filled = fill_unmeasured(model, row)
    assert filled == GENES and all(filled_row[g] == model.reference_row[g] for g in GENES)
    spread = unmeasured_spread(model, filled_row, filled)
    answer = model.analyse([filled_row])[0]
    assert spread["combinations"] == 81 and spread["inside"] > 0
    low, high = spread["risk_percentile"]
    assert low <= answer["risk_percentile"] <= high and high - low > 10  # the genes matter
    message = filled_message(model, filled, spread)
    assert "EGFR mRNA expression = 5.95 log2 intensity" in message and "clinical factors only" in message
    assert f"between {low:.0f} and {high:.0f}" in message
    partial = fill_unmeasured(model, {**row, "egfr_expr": 7.0})[1]
    assert partial == GENES[1:] and unmeasured_spread(model, filled_row, []) is None


@pytest.mark.data
def test_the_stored_gene_percentiles_are_the_training_files():
    data = os.environ.get("MEDCORE_DATA_DIR")
    path = Path(data or "", "survival", "metabric_train.csv")
    if not data or not path.is_file():
        pytest.skip("real data not available: set MEDCORE_DATA_DIR to the shared data folder")
    frame = pd.read_csv(path)
    model = medcore.load_model("survival-metabric")
    for gene, stored in UNMEASURED["survival-metabric"].items():
        assert stored == pytest.approx(np.percentile(frame[gene], [5, 50, 95]), rel=1e-6), gene
        assert stored[1] == pytest.approx(model.reference_row[gene], rel=1e-6)
