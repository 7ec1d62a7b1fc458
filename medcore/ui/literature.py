"""Literature page widgets: masking with its notice, and relation tables whose long
"why" and "evidence" cells wrap (``st.table`` lays every cell out in full; ``st.dataframe`` cuts them)."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from medcore.core.deid import mask_identifiers, masking_notice

__all__ = ["masked_with_notice", "plain", "relation_rows", "relations_table", "BATCH_RELATIONS_SHOWN"]

BATCH_RELATIONS_SHOWN = 100  # relations laid out in full under a batch; the downloads hold every one
_MARKDOWN = re.compile(r"([\\`*_~$#\[\]<>|])")  # st.table renders Markdown (and $...$ as maths) in its cells


def masked_with_notice(text: str) -> str:
    """The text with identifiers masked, saying what was masked."""
    masked, findings = mask_identifiers(text)
    if findings:
        st.info(masking_notice(findings, "extraction"))
    return masked


def plain(text: str) -> str:
    """``text`` shown as written in a Markdown cell (no emphasis, maths or links read into it)."""
    return _MARKDOWN.sub(r"\\\1", text)


def relation_rows(text: str, relations: list[dict], name: str | None = None) -> list[dict]:
    """One row per relation: the pair with ids, score, why and the evidence sentences in full."""
    return [
        {
            **({"text_name": name} if name is not None else {}),
            "chemical": f"{r['chemical_text']} ({r['chemical']})",
            "disease": f"{r['disease_text']} ({r['disease']})",
            "score": f"{r['score']:.2f}",
            "why": "; ".join(r["why"]) or "no named sign (scored on mention counts, distances and training counts)",
            "evidence": " … ".join(text[a:b] for a, b in r["evidence"]),
        }
        for r in relations
    ]


def relations_table(rows: list[dict]) -> None:
    """The relation rows as a static table: long cells wrap, nothing is cut."""
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        frame[column] = frame[column].map(lambda value: plain(str(value)))
    st.table(frame, hide_index=True)
