"""Drug activity page widgets: each task's decision at its stated threshold, and the caution when close
training neighbours were measured both ways (the decisions and counts come from medcore.molecules)."""

from __future__ import annotations

import streamlit as st

from medcore.molecules.data import task_words
from medcore.molecules.model import decision_threshold

__all__ = ["decisions_section", "disagreement_section", "decision_columns", "batch_threshold_caption", "published"]


def decisions_section(decisions: dict[str, dict]) -> None:
    """Every binary task's yes/no with its probability and threshold, and where the threshold comes from."""
    if not decisions:
        return
    if len(decisions) == 1:
        st.markdown(f"**Decision:** {next(iter(decisions.values()))['text']}")
    else:
        positive = sum(d["positive"] for d in decisions.values())
        st.markdown(f"**Decisions** ({positive} of {len(decisions)} yes):")
        st.markdown("\n".join(f"- {d['text']}" for d in decisions.values()))
    for (threshold, basis), tasks in _by_threshold(decisions).items():
        which = "" if len(tasks) == len(decisions) else f" ({', '.join(tasks)})"
        st.caption(f"Threshold {threshold:.2f}{which}: {basis}.")


def _by_threshold(decisions: dict[str, dict]) -> dict[tuple[float, str], list[str]]:
    out: dict[tuple[float, str], list[str]] = {}
    for task, d in decisions.items():
        out.setdefault((d["threshold"], d["basis"]), []).append(task)
    return out


def disagreement_section(found: dict, task: str) -> None:
    """A caution when the close neighbours disagree on the task shown; the other tasks they disagree on."""
    disagreement = found.get("disagreement", {})
    if task in disagreement:
        st.warning(disagreement[task]["text"])
    others = [task_words(t) for t in disagreement if t != task]
    if others:
        st.caption(
            f"Close neighbours (Tanimoto >= {found['agreement_cut']:.2f}) also disagree on: {'; '.join(others)}."
        )


def decision_columns(result: dict) -> dict[str, str | None]:
    """Batch-table columns: each task's yes/no at its threshold (None without a prediction)."""
    return {
        f"{task_words(task)}: yes at P >= {d['threshold']:.2f}": "yes" if d["positive"] else "no"
        for task, d in result.get("decisions", {}).items()
    }


def batch_threshold_caption(card: dict, tasks: list[str]) -> None:
    """Where the batch table's yes/no columns draw the line."""
    found = {decision_threshold(card, task) for task in tasks}
    st.caption(
        "Yes/no columns: yes when the probability reaches the threshold in the column name; "
        + "; ".join(f"{threshold:.2f}: {basis}" for threshold, basis in sorted(found))
        + "."
    )


def published(card: dict) -> str:
    """The card's published test figures of this task, e.g. "random forest on ECFP 1.55, graph convolution 0.885"."""
    figures = next(iter(card.get("anchors", {}).values()), {})
    return ", ".join(f"{name} {value:g}" for name, value in figures.items() if name != "aim") or "not recorded"
