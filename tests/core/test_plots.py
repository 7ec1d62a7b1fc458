"""Figures are built from finished numbers and carry them unchanged."""

from __future__ import annotations

import numpy as np

import medcore
from medcore.core import plots


def test_probability_bars_sorted_with_threshold_line():
    figure = plots.probability_bars({"normal": 0.2, "pneumonia": 0.8}, threshold=0.35, positive_label="pneumonia")
    bar = figure.data[0]
    assert list(bar.y) == ["normal", "pneumonia"]  # highest drawn last = on top
    assert list(bar.x) == [0.2, 0.8]
    assert any(shape.x0 == 0.35 for shape in figure.layout.shapes)


def test_probability_bars_never_read_0_or_100_per_cent():
    """Issue 28 item 11: the bars said "0.0%" and "100.0%" beside a decision that said "< 0.1 %"."""
    figure = plots.probability_bars(
        {"normal": 0.99996, "pneumonia": 0.00004}, threshold=0.66, positive_label="pneumonia"
    )
    assert sorted(figure.data[0].text) == ["< 0.1 %", "> 99.9 %"]
    assert list(plots.probability_bars({"a": 0.25, "b": 0.75}).data[0].text) == ["25.0 %", "75.0 %"]


def test_probability_bars_top_k():
    probabilities = {f"d{i}": p for i, p in enumerate(np.linspace(0.01, 0.2, 10))}
    assert len(plots.probability_bars(probabilities, top=5).data[0].y) == 5


def test_confusion_matrix_normalised_rows():
    figure = plots.confusion_matrix_figure([[3, 1], [0, 4]], ["a", "b"], normalise=True)
    np.testing.assert_allclose(np.asarray(figure.data[0].z), [[0.75, 0.25], [0.0, 1.0]])


def test_confusion_matrix_can_leave_out_absent_classes():
    matrix = [[2, 0, 1], [0, 0, 0], [0, 0, 3]]  # class b: never a label, never predicted
    figure = plots.confusion_matrix_figure(matrix, ["a", "b", "c"], present_only=True)
    assert list(figure.data[0].x) == ["a", "c"] and np.asarray(figure.data[0].z).tolist() == [[2, 1], [0, 3]]
    assert "1 class(es) absent" in figure.layout.title.text


def test_probability_bars_keep_ordinal_grades_in_order():
    grades = {"grade 0": 0.3, "grade 1": 0.1, "grade 2": 0.4, "grade 3": 0.2}
    figure = plots.probability_bars(grades, ordered=True)
    assert list(figure.data[0].y) == ["grade 3", "grade 2", "grade 1", "grade 0"]  # grade 0 drawn on top
    assert list(plots.probability_bars(grades).data[0].y)[-1] == "grade 2"  # unordered: the likeliest on top


def test_the_evaluation_page_shows_every_figures_interval_both_ends():
    """Issue 29 item 5: the card's figure table could lose its 95 % intervals unnoticed."""
    from streamlit.testing.v1 import AppTest

    from medcore.core.settings import PROJECT_ROOT

    app = AppTest.from_file(str(PROJECT_ROOT / "pages/Model_Evaluation.py"), default_timeout=60).run()
    app.selectbox[0].set_value("pneumonia-cxr").run()
    assert not app.exception
    validation = medcore.load_model("pneumonia-cxr").card["metrics"]["validation"]
    table = next(frame.value for frame in app.dataframe if "95 % CI" in frame.value.columns)
    shown = table[table["split"] == validation["split"]].set_index("metric")["95 % CI"]
    with_interval = [key[: -len("_ci95")] for key in validation if key.endswith("_ci95")]
    assert {"auc", "sensitivity", "specificity"} <= set(with_interval)
    for key in with_interval:
        low, high = validation[f"{key}_ci95"]
        assert shown[key] == f"{low:.3f}-{high:.3f}", key
