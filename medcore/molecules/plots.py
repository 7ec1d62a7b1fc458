"""Molecule drawings (RDKit SVG, atoms coloured by contribution) and the charts of the pages."""

from __future__ import annotations

import textwrap

import numpy as np
import plotly.graph_objects as go

from medcore.core.cards import percent
from medcore.molecules.data import task_words

__all__ = ["molecule_svg", "parity_figure", "task_figure"]


def molecule_svg(smiles: str, weights: list[float] | None = None, size: tuple[int, int] = (420, 300)) -> str:
    """The molecule (largest fragment) as SVG; with ``weights`` (one per atom) atoms are shaded red
    (raises the prediction) or blue (lowers it), in proportion to the largest absolute weight."""
    from rdkit.Chem.Draw import rdMolDraw2D

    from medcore.molecules.chem import parse

    mol = parse(smiles).mol
    drawer = rdMolDraw2D.MolDraw2DSVG(*size)
    options = drawer.drawOptions()
    options.clearBackground = True
    if weights is not None and len(weights) == mol.GetNumAtoms():
        top = max(float(np.max(np.abs(weights))), 1e-12)
        colours, radii = {}, {}
        for atom, weight in enumerate(weights):
            strength = min(abs(weight) / top, 1.0)
            if strength < 0.05:
                continue
            fade = 1.0 - 0.7 * strength
            colours[atom] = (1.0, fade, fade) if weight > 0 else (fade, fade, 1.0)
            radii[atom] = 0.3 + 0.2 * strength
        drawer.DrawMolecule(
            mol, highlightAtoms=list(colours), highlightAtomColors=colours, highlightAtomRadii=radii, highlightBonds=[]
        )
    else:
        drawer.DrawMolecule(mol)
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


def parity_figure(measured: list[float], predicted: list[float], unit: str) -> go.Figure:
    """Predicted against measured values with the identity line."""
    low = float(min(min(measured), min(predicted))) - 0.5
    high = float(max(max(measured), max(predicted))) + 0.5
    figure = go.Figure(
        [
            go.Scatter(
                x=[low, high], y=[low, high], mode="lines", line={"dash": "dot", "color": "#999"}, name="identity"
            ),
            go.Scatter(x=measured, y=predicted, mode="markers", marker={"size": 6, "opacity": 0.7}, name="molecules"),
        ]
    )
    figure.update_layout(
        title="Parity: predicted vs measured",
        xaxis_title=f"measured ({unit})",
        yaxis_title=f"predicted ({unit})",
        height=420,
    )
    return figure


def task_figure(result: dict, tasks: list[str]) -> go.Figure:
    """One molecule's probability per task (horizontal bars)."""
    values = [result["predictions"].get(task, 0.0) for task in tasks]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=[
                "<br>".join(textwrap.wrap(task_words(task), 28, break_on_hyphens=False)) for task in tasks
            ],  # a narrow column keeps them
            orientation="h",
            text=[percent(v) for v in values],
            textposition="auto",
            marker_color=["#e76f51" if v >= 0.5 else "#2a9d8f" for v in values],
        )
    )
    figure.update_layout(
        title="Predicted probability of each activity (calibrated)",
        xaxis_range=[0, 1],
        xaxis_title="probability",
        height=120 + 40 * len(tasks),
        yaxis={"automargin": True},
    )
    return figure
