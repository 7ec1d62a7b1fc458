"""Literature extraction: chemicals, diseases and which chemical induced which disease, in pasted or uploaded text."""

import json

import pandas as pd
import streamlit as st

from medcore import MedcoreError, ui
from medcore.core.audit import input_digest
from medcore.core.cards import format_figure
from medcore.core.deid import mask_identifiers as mask
from medcore.literature.data import EXAMPLES, MAX_DOCUMENTS, read_texts
from medcore.literature.model import frequent_pairs, result_rows
from medcore.literature.plots import highlight_html, pairs_figure
from medcore.ui.literature import BATCH_RELATIONS_SHOWN, masked_with_notice, relation_rows, relations_table

ui.page_header("Literature extraction")
model = ui.choose_model("literature", "Model")
card = model.card
validation = card["metrics"]["validation"]
st.markdown(f"**Intended use.** {card['intended_use']}")
st.caption(
    "On the BC5CDR development abstracts, by a run trained on the training abstracts only: "
    f"{format_figure(validation, 'strict_chemical_f1', 'chemical mentions F1')}; "
    f"{format_figure(validation, 'strict_disease_f1', 'disease mentions F1')}; "
    f"{format_figure(validation, 'cid_f1', 'chemical-induced-disease relations F1 (end to end)')}. "
    "Research use only: check every extraction in its sentence."
)


def _downloads(rows: list[dict], results: object, key: str) -> None:
    frame = pd.DataFrame(rows)
    left, right = st.columns(2)
    left.download_button(
        "Download everything (CSV)", frame.to_csv(index=False), "medcore-literature.csv", "text/csv", key=f"{key}-csv"
    )
    right.download_button(
        "Download everything (JSON)",
        json.dumps(results, indent=1),
        "medcore-literature.json",
        "application/json",
        key=f"{key}-json",
    )


def _one() -> None:
    """One pasted text: highlighted mentions, their MeSH ids, relations with evidence."""
    columns = st.columns(len(EXAMPLES))
    for column, (title, example) in zip(columns, EXAMPLES.items()):
        if column.button(f"Example: {title}", key=f"example-{title}"):
            st.session_state["literature-text"] = st.session_state["literature-analysed"] = example
    with st.form("literature-form", border=False):
        st.text_area("Paste an abstract or clinical text", key="literature-text", height=180)
        if st.form_submit_button("Extract", type="primary"):
            st.session_state["literature-analysed"] = st.session_state["literature-text"]
    text = st.session_state.get("literature-analysed", "")
    if not text.strip():
        st.info("Paste a text (or pick an example), then press Extract. Nothing you paste is written to disk.")
        return
    text = masked_with_notice(text)
    try:
        result = ui.audited(
            "literature",
            "literature extraction",
            card,
            input_digest(text),
            lambda: model.extract(text),
            lambda r: {"entities": len(r["entities"]), "relations": len(r["relations"]), "refused": r["out_of_domain"]},
        )
    except MedcoreError as err:
        st.error(str(err))
        return
    for notice in result["notices"]:
        st.warning(notice)
    if result["out_of_domain"]:
        st.warning(result["reason"])
        return
    text = text[: result["chars_read"]]
    chemicals = sum(e["type"] == "Chemical" for e in result["entities"])
    st.markdown(
        f"**{chemicals} chemical and {len(result['entities']) - chemicals} disease mentions; "
        f"{len(result['relations'])} chemical → disease relations** (hover a mention for its MeSH id and score)"
    )
    st.html(highlight_html(text, result["entities"]))
    st.subheader("Chemical → disease relations")
    if result["relations"]:
        relations_table(relation_rows(text, result["relations"]))
        st.caption(
            f"A pair is reported when its score reaches {model.threshold:.2f} (the threshold of best relation F1 on "
            "the development abstracts). The score is not a probability that the drug causes the effect: it says how "
            "strongly the text states it."
        )
    else:
        st.info("No chemical-induced-disease relation reaches the threshold in this text.")
    rows = result_rows("pasted text", text, result)
    with st.expander(f"Every mention ({len(result['entities'])})"):
        mentions = pd.DataFrame([r for r in rows if r["kind"] == "mention"])
        st.dataframe(mentions.drop(columns=["evidence", "why"], errors="ignore"), hide_index=True)
    _downloads(rows, result, "one")


def _batch() -> None:
    """A file of abstracts (.txt, PubTator, CSV) -> every extraction, the most frequent pairs."""
    st.markdown(
        f"A `.txt` file (one text, or PubTator), or a CSV with a `text` (or `abstract`) column, up to "
        f"{MAX_DOCUMENTS:,} texts. Identifiers are masked first; nothing is kept."
    )
    upload = st.file_uploader("Abstracts", type=["txt", "csv", "pubtator"], key="literature-batch")
    if upload is None:
        return
    data = upload.getvalue()
    bar = st.progress(0.0, text="Extracting...")
    try:
        names, texts, docs = read_texts(upload.name, data)
        if docs is not None:  # mask title and abstract apart so the title stays its own sentence
            titles = [mask(d.text[: d.title_end])[0] for d in docs]
            bodies = [mask(d.text[d.title_end + 1 :])[0] for d in docs]
            texts = [f"{t} {b}" for t, b in zip(titles, bodies)]
            title_ends = [len(t) for t in titles]
        else:
            texts = [mask(t)[0] for t in texts]
            title_ends = None
        results = ui.audited(
            "literature-batch",
            "literature extraction (batch)",
            card,
            input_digest(data),
            lambda: model.extract_many(texts, title_ends, lambda f: bar.progress(f, text="Extracting...")),
            lambda rs: {"texts": len(rs), "refused": sum(r["out_of_domain"] for r in rs)},
        )
    except MedcoreError as err:
        st.error(str(err))
        return
    finally:
        bar.empty()
    refused = [n for n, r in zip(names, results) if r["out_of_domain"]]
    cut = sum(bool(r["notices"]) for r in results)
    st.caption(
        f"{len(results)} texts: {sum(len(r['entities']) for r in results)} mentions, "
        f"{sum(len(r['relations']) for r in results)} relations; {len(refused)} refused (not English biomedical "
        f"text){f'; {cut} cut to {model.max_chars:,} characters' if cut else ''}."
    )
    if refused:
        st.warning("Refused: " + ", ".join(refused[:20]) + (" ..." if len(refused) > 20 else ""))
    pairs = frequent_pairs(results)
    scored = len(results) - len(refused)
    if pairs and scored:
        st.plotly_chart(pairs_figure(pairs, scored), key="pairs")
    rows = [row for n, t, r in zip(names, texts, results) for row in result_rows(n, t, r)]
    if rows:  # every row, sortable; the long why and evidence cells are laid out in full below
        st.dataframe(pd.DataFrame(rows).drop(columns=["evidence", "why"], errors="ignore"), hide_index=True)
    found = [row for n, t, r in zip(names, texts, results) for row in relation_rows(t, r["relations"], n)]
    if found:
        st.subheader("Relations with their reasons and evidence")
        relations_table(found[:BATCH_RELATIONS_SHOWN])
        if len(found) > BATCH_RELATIONS_SHOWN:
            st.caption(f"The first {BATCH_RELATIONS_SHOWN} of {len(found):,} relations; the downloads hold every one.")
    _downloads(rows, [{"name": n, **r} for n, r in zip(names, results)], "batch")


one_tab, batch_tab = st.tabs(["One text", "Batch (file)"])
with one_tab:
    _one()
with batch_tab:
    _batch()
