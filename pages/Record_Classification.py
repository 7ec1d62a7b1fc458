"""Record classification: free text -> ranked diagnoses; symptom checklist -> differential."""

import streamlit as st

from medcore import MedcoreError, ui
from medcore.core.audit import input_digest
from medcore.core.plots import probability_bars
from medcore.core.settings import LIMITS
from medcore.text.data import TEXT_EXAMPLES
from medcore.text.deid import mask_identifiers
from medcore.text.plots import highlight_html

ui.page_header("Record classification")
st.info(
    "Assessing a patient's symptoms? Use **Symptom assessment** (Diagnosis): triage first, red flags, and a "
    "differential over 156 conditions that says when none fits. The two models below classify text into their "
    "data sets' own labels only, with no triage."
)
text_tab, checklist_tab = st.tabs(["Free text", "Symptom checklist"])


def free_text() -> None:
    text_cards = sorted(
        (c for c in ui.model_cards() if c.get("kind") == "text"), key=lambda c: c["name"] != "symptom-text"
    )
    cards = {c["task"]: c["name"] for c in text_cards}
    if not cards:
        st.info("No text models were found in the models folder.")
        return
    name = cards[st.selectbox("What kind of text?", list(cards))]
    model = ui.get_model(name)
    st.markdown(f"**Intended use.** {model.card['intended_use']}")
    examples = TEXT_EXAMPLES.get(name, {})
    for column, (title, example) in zip(st.columns(len(examples) or 1), examples.items()):
        if column.button(f"Example: {title}", key=f"example-{name}-{title}"):
            st.session_state[f"text-{name}"] = st.session_state[f"analysed-{name}"] = example
    with st.form(f"note-{name}", border=False):
        st.text_area("Describe the symptoms or paste a note", key=f"text-{name}", height=140)
        if st.form_submit_button("Analyse", type="primary"):
            st.session_state[f"analysed-{name}"] = st.session_state[f"text-{name}"]
    text = st.session_state.get(f"analysed-{name}", "")
    if not text.strip():
        st.info("Type or paste a description (or pick an example), then press Analyse to see the ranked diagnoses.")
        return
    limit = LIMITS["max_text_chars"]
    if len(text) > limit:
        st.warning(
            f"The text has {len(text):,} characters; only the first {limit:,} were kept. Paste the part that "
            "describes the symptoms for a complete reading."
        )
        text = text[:limit]
    masked, findings = mask_identifiers(text)
    if findings:
        st.info("Masked before analysis: " + ", ".join(f"{f['count']} {f['kind']}" for f in findings) + ".")
    cleaned, notes = model.prepare(masked)
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
    words = ui.session_memo("text-words", (name, input_digest(cleaned)), lambda: model.explain(cleaned))
    st.html(highlight_html(words))
    with st.expander("How good is this model? (validation charts)"):
        ui.evaluation_charts(model.card, key=f"eval-{name}")


def answer(key: str, symptom: str) -> None:
    """A next-question button: 'Yes' ticks the symptom, 'No' records it as absent."""
    st.session_state[key] = [*st.session_state.get(key, []), symptom]


def checklist() -> None:
    model = ui.get_model("symptom-checklist")
    st.markdown(f"**Intended use.** {model.card['intended_use']}")
    st.session_state.setdefault("absent", [])
    ticked = st.multiselect(
        "Symptoms the patient reports",
        model.symptoms,
        key="ticked",
        format_func=lambda s: s.replace("_", " ").capitalize(),
        placeholder="Search symptoms...",
    )
    severe = st.checkbox("The patient feels severely unwell (raises the triage hint one step)", key="severe")
    if not ticked:
        st.info("Tick at least one symptom to see the differential diagnosis.")
        return
    absent = [symptom for symptom in st.session_state["absent"] if symptom not in ticked]
    differential = ui.audited(
        "checklist",
        "record classification: checklist",
        model.card,
        input_digest(*sorted(ticked), "absent:", *sorted(absent)),
        lambda: model.differential(ticked, top=5, absent=absent),
        lambda result: {"top3": {d["disease"]: round(d["probability"], 4) for d in result[:3]}},
    )
    st.plotly_chart(probability_bars({d["disease"]: d["probability"] for d in differential}), key="checklist-bars")
    triage = model.triage(ticked, "severe" if severe else None)
    st.warning(f"Triage hint: {triage['hint']}. {triage['note']}")
    if absent:
        left, right = st.columns([5, 1])
        left.markdown("**Answered no:** " + ", ".join(s.replace("_", " ") for s in absent))
        right.button("Clear answers", key="clear-absent", on_click=lambda: st.session_state.update(absent=[]))
    questions = model.next_questions(ticked, k=3, absent=absent)
    st.markdown("**Next questions worth asking** (the answers that would change the differential most)")
    if not questions:
        st.info("No further question would change the ranking: every remaining symptom gains less than 0.01 bits.")
    for question in questions:
        symptom = question["symptom"]
        left, yes, no = st.columns([4, 1, 1])
        left.markdown(
            f"Does the patient have **{symptom.replace('_', ' ')}**? (information gain {question['information_gain']:.2f} bits)"
        )
        yes.button("Yes", key=f"yes-{symptom}", on_click=answer, args=("ticked", symptom))
        no.button("No", key=f"no-{symptom}", on_click=answer, args=("absent", symptom))
    for item in differential:
        about = model.describe(item["disease"])
        with st.expander(f"{item['disease']}: {item['probability']:.1%}"):
            st.write(about["description"] or "No description in the data set.")
            if about["precautions"]:
                st.markdown("Precautions from the data set: " + "; ".join(about["precautions"]))
    with st.expander("How good is this model? (validation charts)"):
        ui.evaluation_charts(model.card, key="eval-checklist")


@st.fragment
def shown(tab) -> None:
    """One tab's work, its errors shown in place. A fragment: a click in one tab reruns that tab only
    (ticking a symptom does not redraw the free text's explanation, and the other way round)."""
    try:
        tab()
    except MedcoreError as err:
        st.error(str(err))


with text_tab:
    shown(free_text)
with checklist_tab:
    shown(checklist)
