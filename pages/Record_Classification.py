"""Record classification: a clinical text (an abstract, a report) -> its condition class, with the words behind it.

A patient's symptoms belong on the Symptom assessment page (triage first, a differential that says
when none fits); this page classifies texts into the abstract-topic model's five classes only.
"""

import streamlit as st

from medcore import MedcoreError, ui
from medcore.core.audit import input_digest
from medcore.core.deid import mask_identifiers, masking_notice
from medcore.core.plots import probability_bars
from medcore.core.validate import check_text_length
from medcore.text.data import TEXT_EXAMPLES
from medcore.text.plots import highlight_html

NAME = "abstract-topic"
ui.page_header("Record classification")
st.info(
    "Assessing a patient's symptoms? Use **Symptom assessment** (Diagnosis): triage first, red flags, and a "
    "differential over 156 conditions that says when none fits. This page sorts clinical texts (abstracts, "
    "reports) into five condition classes and gives no triage."
)


@st.fragment
def classify() -> None:
    """The classifier's work, its errors shown in place (a fragment: a click reruns this part only)."""
    try:
        model = ui.get_model(NAME)
    except MedcoreError as err:
        st.error(str(err))
        return
    st.markdown(f"**Intended use.** {model.card['intended_use']}")
    examples = TEXT_EXAMPLES.get(NAME, {})
    for column, (title, example) in zip(st.columns(len(examples) or 1), examples.items()):
        if column.button(f"Example: {title}", key=f"example-{title}"):
            st.session_state["text"] = st.session_state["analysed"] = example
    with st.form("note", border=False):
        st.text_area("Paste a clinical text (an abstract or a report)", key="text", height=140)
        if st.form_submit_button("Analyse", type="primary"):
            st.session_state["analysed"] = st.session_state["text"]
    text = st.session_state.get("analysed", "")
    if not text.strip():
        st.info("Paste a text (or pick an example), then press Analyse to see the ranked condition classes.")
        return
    try:  # one limit everywhere: the page refuses what the API and the CLI refuse, in the same words
        check_text_length(text)
    except MedcoreError as err:
        st.error(str(err))
        return
    masked, findings = mask_identifiers(text)
    if findings:
        st.info(masking_notice(findings))
    try:
        cleaned, notes = model.prepare(masked)
    except MedcoreError as err:
        st.error(str(err))
        return
    for note in notes:
        st.warning(note)
    probabilities = ui.audited(
        "text",
        "record classification: free text",
        model.card,
        input_digest(cleaned),
        lambda: dict(zip(model.labels, model.predict_proba([cleaned])[0].tolist())),
        lambda result: {"top3": dict(sorted(result.items(), key=lambda kv: -kv[1])[:3])},
    )
    st.plotly_chart(probability_bars(probabilities, top=5), key="text-bars")
    st.markdown("**Words that pushed towards the top class** (red: towards it, blue: away from it)")
    words = ui.session_memo("text-words", (NAME, input_digest(cleaned)), lambda: model.explain(cleaned))
    st.html(highlight_html(words))
    with st.expander("How good is this model? (validation charts)"):
        ui.evaluation_charts(model.card, key=f"eval-{NAME}")


classify()
