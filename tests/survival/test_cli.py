"""``python -m medcore evaluate|predict survival-...`` on CSVs, and their errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from medcore.cli import main
from tests.survival.conftest import synthetic_cohort


def test_evaluate_prints_c_auc_brier_and_calibration(tmp_path, capsys):
    path = tmp_path / "cohort.csv"
    synthetic_cohort(300, seed=12).to_csv(path, index=False)
    assert main(["evaluate", "survival-gbsg", str(path)]) == 0
    out = capsys.readouterr().out
    for figure in ("c_index", "auc@1y", "integrated_brier", "calibration_gap@5y", "calibration at 3y"):
        assert figure in out
    assert "95 % CI" in out
    assert main(["evaluate", "survival-gbsg", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 300 and len(result["c_index_ci95"]) == 2 and len(result["calibration"]["5y"]) == 10


def test_predict_a_csv_gives_a_line_per_patient_and_refuses_strangers(tmp_path, capsys):
    frame = synthetic_cohort(3, seed=13)
    frame.loc[2, "age"] = 95  # plausible, older than anyone in Rotterdam's training cohort
    path = tmp_path / "patients.csv"
    frame.to_csv(path, index=False)
    assert main(["predict", "survival-gbsg", str(path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert "higher risk than" in lines[0] and "% of the training cohort" in lines[0]
    assert "median relapse-free survival" in lines[0] and "relapse-free survival 1y" in lines[0]
    assert "NOT ANALYSED" in lines[2] and "Age at surgery = 95" in lines[2]


def test_bad_csvs_exit_2_naming_column_and_row(tmp_path, capsys):
    frame = synthetic_cohort(4)
    frame["positive_nodes"] = frame["positive_nodes"].astype(object)
    frame.loc[3, "positive_nodes"] = "several"
    path = tmp_path / "typo.csv"
    frame.to_csv(path, index=False)
    assert main(["predict", "survival-gbsg", str(path)]) == 2
    assert "column 'positive_nodes', row 4: the value 'several' is not a number" in capsys.readouterr().err
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert main(["evaluate", "survival-gbsg", str(empty)]) == 2
    assert "is empty" in capsys.readouterr().err


@pytest.mark.data
def test_evaluating_on_the_training_file_says_it_is_optimistic(capsys):
    data = os.environ.get("MEDCORE_DATA_DIR")
    path = Path(data or "", "survival", "rotterdam_gbsg_train.csv")
    if not data or not path.is_file():
        pytest.skip("real data not available: set MEDCORE_DATA_DIR to the shared data folder")
    assert main(["evaluate", "survival-gbsg", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 1546 and any("own training file" in note for note in result["notes"])
