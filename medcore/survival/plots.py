"""Plotly figures of the survival page and the evaluation page, drawn from finished numbers."""

from __future__ import annotations

import plotly.graph_objects as go

from medcore.survival.metrics import GROUP_WORDS

__all__ = [
    "survival_figure",
    "risk_groups_figure",
    "contributions_figure",
    "what_if_figure",
    "calibration_figure",
]

_GROUP_COLOURS = {"low": "#2a9d8f", "intermediate": "#e9c46a", "high": "#e76f51"}


def _layout(figure: go.Figure, title: str, unit: str, height: int = 380) -> go.Figure:
    figure.update_layout(
        title=title,
        xaxis_title=f"time ({unit})",
        yaxis_title="probability of staying event-free",
        yaxis_range=[0, 1.02],
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


def survival_figure(result: dict, unit: str, horizons: dict[str, float]) -> go.Figure:
    """The patient's curve with its 95 % band and markers at the horizons (``SurvivalModel.analyse(curves=True)``)."""
    figure = go.Figure()
    times = result["times"]
    figure.add_trace(go.Scatter(x=times, y=result["high"], line={"width": 0}, showlegend=False, hoverinfo="skip"))
    figure.add_trace(
        go.Scatter(
            x=times,
            y=result["low"],
            fill="tonexty",
            fillcolor="rgba(38,70,83,0.2)",
            line={"width": 0},
            name="95 % band (bootstrap refits)",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=times, y=result["survival"], line={"color": "#264653", "width": 3}, name="this patient", line_shape="hv"
        )
    )
    for label, horizon in horizons.items():
        value = result.get(f"survival@{label}")
        if value is not None:
            figure.add_trace(
                go.Scatter(
                    x=[horizon],
                    y=[value],
                    mode="markers+text",
                    text=[f"{label}: {value:.0%}"],
                    textposition="top left",  # the last horizon sits at the right edge: its label would be cut
                    marker={"size": 9, "color": "#264653"},
                    showlegend=False,
                )
            )
    return _layout(figure, "Predicted survival for this patient", unit)


def risk_groups_figure(groups: dict, unit: str, highlight: str | None = None) -> go.Figure:
    """Kaplan-Meier curves of the training cohort by risk tertile (95 % bands), ``highlight`` drawn bold."""
    figure = go.Figure()
    for name, curve in groups.items():
        colour = _GROUP_COLOURS.get(name, "#888888")
        bold = name == highlight
        fade = 0.25 if bold or highlight is None else 0.08
        rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        figure.add_trace(
            go.Scatter(
                x=curve["time"], y=curve["high"], line={"width": 0, "shape": "hv"}, showlegend=False, hoverinfo="skip"
            )
        )
        figure.add_trace(
            go.Scatter(
                x=curve["time"],
                y=curve["low"],
                fill="tonexty",
                fillcolor=f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{fade})",
                line={"width": 0, "shape": "hv"},
                showlegend=False,
                hoverinfo="skip",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=curve["time"],
                y=curve["survival"],
                line={
                    "color": colour,
                    "width": 4 if bold else 1.5,
                    "shape": "hv",
                    "dash": "solid" if bold or highlight is None else "dot",
                },
                name=f"{GROUP_WORDS.get(name, name)} (n={curve['n']}, {curve['events']} events)"
                + (" ← this patient" if bold else ""),
            )
        )
    return _layout(figure, "Training cohort by thirds of risk (Kaplan-Meier)", unit)


def contributions_figure(explanation: dict, top: int = 12) -> go.Figure:
    """Each covariate's contribution to the log-hazard against the median patient (bars; red raises risk)."""
    rows = explanation["contributions"][:top][::-1]
    figure = go.Figure(
        go.Bar(
            x=[row["log_hazard"] for row in rows],
            y=[row.get("label", row["covariate"]) for row in rows],  # plain words, not column names
            orientation="h",
            marker_color=["#e76f51" if row["log_hazard"] > 0 else "#2a9d8f" for row in rows],
            text=[f"x{row['hazard_ratio']:.2f}" for row in rows],
            textposition="auto",
            hovertext=[row["text"] for row in rows],
        )
    )
    figure.update_layout(
        title="What drives this patient's risk (vs the cohort's median patient)",
        xaxis_title="contribution to log-hazard (right: raises risk)",
        height=120 + 28 * len(rows),
        margin={"l": 160, "r": 60, "t": 50, "b": 50},
    )
    return figure


def what_if_figure(result: dict, unit: str, change_text: str) -> go.Figure:
    """The patient's curve as recorded and under the changed treatment (``SurvivalModel.what_if``)."""
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=result["times"],
            y=result["current"],
            name="as recorded",
            line={"color": "#264653", "width": 3, "shape": "hv"},
        )
    )
    figure.add_trace(
        go.Scatter(
            x=result["times"],
            y=result["changed"],
            name=change_text,
            line={"color": "#e76f51", "width": 3, "dash": "dash", "shape": "hv"},
        )
    )
    return _layout(figure, "What if (association in observational data, not a proven effect)", unit)


def calibration_figure(tables: dict[str, list[dict]]) -> go.Figure:
    """Predicted vs Kaplan-Meier observed survival by decile at each horizon, with 95 % bars."""
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#999"}, name="perfect")
    )
    for label, rows in tables.items():
        figure.add_trace(
            go.Scatter(
                x=[r["predicted"] for r in rows],
                y=[r["observed"] for r in rows],
                mode="markers+lines",
                name=f"at {label}",
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [r["observed_high"] - r["observed"] for r in rows],
                    "arrayminus": [r["observed"] - r["observed_low"] for r in rows],
                },
                text=[f"n={r['n']}" for r in rows],
            )
        )
    figure.update_layout(
        title="Calibration by decile (observed: Kaplan-Meier)",
        xaxis_title="predicted survival",
        yaxis_title="observed survival",
        xaxis_range=[0, 1],
        yaxis_range=[0, 1.02],
        height=420,
    )
    return figure
