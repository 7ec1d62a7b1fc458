"""The dosing page's pictures: each factor's effect as a waterfall, doses by genotype, calibration."""

from __future__ import annotations

import plotly.graph_objects as go

__all__ = ["waterfall_figure", "genotype_figure", "calibration_figure"]


def waterfall_figure(explanation: dict, top: int = 8) -> go.Figure:
    """From the reference patient's dose to this patient's, one bar per factor group (mg/week)."""
    effects = explanation["effects"]
    shown, rest = effects[:top], effects[top:]
    names = [e["factor"] for e in shown] + (["other factors"] if rest else [])
    values = [e["mg_per_week"] for e in shown] + ([sum(e["mg_per_week"] for e in rest)] if rest else [])
    fig = go.Figure(
        go.Waterfall(
            x=["reference patient", *names, "this patient"],
            y=[explanation["reference_dose"], *values, explanation["dose"]],
            measure=["absolute", *["relative"] * len(values), "total"],
            text=[f"{explanation['reference_dose']:.1f}", *[f"{v:+.1f}" for v in values], f"{explanation['dose']:.1f}"],
            textposition="outside",
            decreasing={"marker": {"color": "#1f77b4"}},
            increasing={"marker": {"color": "#d62728"}},
            totals={"marker": {"color": "#555555"}},
        )
    )
    fig.update_layout(
        title="Each factor's effect on the weekly dose (mg/week, exact Shapley values)",
        yaxis_title="mg/week",
        height=420,
        margin={"t": 50},
        showlegend=False,
    )
    return fig


def genotype_figure(rows: list[dict], current: tuple[str | None, str | None]) -> go.Figure:
    """Predicted weekly dose for each VKORC1 x CYP2C9 genotype (the patient's own marked)."""
    vk = ["G/G", "A/G", "A/A"]
    cyp = ["*1/*1", "*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3"]
    z = [[next(r["dose"] for r in rows if r["VKORC1"] == v and r["CYP2C9"] == c) for c in cyp] for v in vk]
    text = [
        [f"{value:.0f}" + (" ●" if (v, c) == current else "") for value, c in zip(row, cyp)] for row, v in zip(z, vk)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=cyp,
            y=vk,
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            reversescale=True,
            colorbar={"title": "mg/week"},
            hovertemplate="VKORC1 %{y}, CYP2C9 %{x}: %{z:.1f} mg/week<extra></extra>",
        )
    )
    fig.update_layout(
        title="Weekly dose for each genotype (● = this patient's)",
        xaxis_title="CYP2C9",
        yaxis_title="VKORC1 -1639",
        height=330,
        margin={"t": 50},
    )
    return fig


def calibration_figure(rows: list[dict], n: int) -> go.Figure:
    """Mean actual against mean predicted dose by decile of prediction (bars: interquartile range)."""
    fig = go.Figure()
    top = max(max(r["predicted"] for r in rows), max(r["actual_high"] for r in rows)) * 1.05
    fig.add_scatter(x=[0, top], y=[0, top], mode="lines", line={"dash": "dot", "color": "grey"}, name="perfect")
    fig.add_scatter(
        x=[r["predicted"] for r in rows],
        y=[r["actual"] for r in rows],
        mode="markers+lines",
        name="model",
        error_y={
            "type": "data",
            "array": [r["actual_high"] - r["actual"] for r in rows],
            "arrayminus": [r["actual"] - r["actual_low"] for r in rows],
        },
        customdata=[r["n"] for r in rows],
        hovertemplate="predicted %{x:.1f}, actual %{y:.1f} mg/week (n=%{customdata})<extra></extra>",
    )
    fig.update_layout(
        title=f"Calibration: actual vs predicted dose by decile (n={n}; bars: interquartile range)",
        xaxis_title="predicted mg/week",
        yaxis_title="actual mg/week",
        height=400,
    )
    return fig
