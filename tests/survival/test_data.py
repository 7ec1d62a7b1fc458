"""Reading survival inputs: every bad value is refused naming its column and row; nominal codes one-hot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medcore import InvalidInputError
from medcore.survival.data import COHORTS, MAX_ROWS, design_columns, design_matrix, read_frame, read_labelled
from tests.survival.conftest import synthetic_cohort

GBSG = COHORTS["survival-gbsg"]


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def test_a_clean_table_comes_back_as_floats_in_covariate_order_without_other_columns():
    frame = synthetic_cohort(20)
    frame["patient_name"] = "x"
    clean = read_frame(frame[frame.columns[::-1]], GBSG.covariates)
    assert list(clean.columns) == [c.name for c in GBSG.covariates]
    assert clean.dtypes.map(lambda d: d == np.float64).all()


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("age", 150, r"column 'age', row 3: the value '150(\.0)?' is outside the plausible range 18-110"),
        ("age", -4, r"column 'age', row 3: the value '-4(\.0)?' is outside the plausible range"),
        ("positive_nodes", "many", "column 'positive_nodes', row 3: the value 'many' is not a number"),
        ("positive_nodes", 2.5, "column 'positive_nodes', row 3: the value '2.5' must be a whole number"),
        ("hormone_therapy", 2, r"column 'hormone_therapy', row 3: the value '2(\.0)?' is outside"),
        ("estrogen_receptor", None, "column 'estrogen_receptor', row 3: the value 'nan' is missing"),
    ],
)
def test_a_bad_value_is_refused_naming_column_and_row(column, value, message):
    frame = synthetic_cohort(5).astype(object)
    frame.loc[2, column] = value
    with pytest.raises(InvalidInputError, match=message):
        read_frame(_csv(frame), GBSG.covariates, "patients.csv")


def test_missing_columns_are_named_with_the_expected_list():
    frame = synthetic_cohort(5).drop(columns=["age", "positive_nodes"])
    with pytest.raises(InvalidInputError, match="lacks the column\\(s\\) age, positive_nodes. Expected columns"):
        read_frame(frame, GBSG.covariates)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a text CSV"),
        (b"age,positive_nodes\n", "no patients"),
        (b'"unclosed,quote\n1,2\n', "could not be read as a CSV"),
    ],
)
def test_empty_binary_and_broken_files_get_a_clear_message(data, message):
    with pytest.raises(InvalidInputError, match=message):
        read_frame(data, GBSG.covariates, "upload.csv")


def test_a_huge_file_is_refused_before_reading(monkeypatch):
    from medcore.core import settings

    monkeypatch.setitem(settings.LIMITS, "max_file_bytes", 1000)
    with pytest.raises(InvalidInputError, match="the limit is"):
        read_frame(_csv(synthetic_cohort(100)), GBSG.covariates, "big.csv")


def test_too_many_rows_are_refused():
    frame = pd.concat([synthetic_cohort(1000)] * (MAX_ROWS // 1000 + 1), ignore_index=True)
    with pytest.raises(InvalidInputError, match="more than 100,000 patients"):
        read_frame(frame, GBSG.covariates)


def test_labelled_files_need_non_negative_durations_binary_events_and_some_events():
    frame = synthetic_cohort(10)
    frame.loc[4, "duration"] = -3
    with pytest.raises(InvalidInputError, match="column 'duration', row 5: the value '-3.0' is outside"):
        read_labelled(frame, GBSG)
    frame = synthetic_cohort(10).drop(columns=["event"])
    with pytest.raises(InvalidInputError, match="lacks the column\\(s\\) event"):
        read_labelled(frame, GBSG)
    frame = synthetic_cohort(10).assign(event=0)
    with pytest.raises(InvalidInputError, match="no events"):
        read_labelled(frame, GBSG)


def test_support_cancer_and_race_are_one_hot_not_ordered():
    support = COHORTS["survival-support"]
    columns = design_columns(support.covariates)
    assert [c for c in columns if c.startswith("cancer")] == ["cancer=0", "cancer=1", "cancer=2"]
    assert len([c for c in columns if c.startswith("race=")]) == 6
    row = {c.name: c.range[0] for c in support.covariates} | {"cancer": 2, "race": 3}
    design = design_matrix(read_frame(pd.DataFrame([row]), support.covariates), support.covariates)[0]
    assert design[columns.index("cancer=2")] == 1 and design[columns.index("cancer=0")] == 0
    assert design[[i for i, c in enumerate(columns) if c.startswith("cancer=")]].sum() == 1
    assert design[columns.index("race=3")] == 1


def test_skewed_lab_values_enter_as_log1p():
    frame = read_frame(synthetic_cohort(3), GBSG.covariates)
    columns = design_columns(GBSG.covariates)
    design = design_matrix(frame, GBSG.covariates)
    index = columns.index("log1p(estrogen_receptor)")
    np.testing.assert_allclose(design[:, index], np.log1p(frame["estrogen_receptor"]), rtol=1e-6)
