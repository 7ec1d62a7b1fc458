"""Image diagnosis: upload PNG/JPEG/DICOM images, get calibrated probabilities and Grad-CAM."""

import streamlit as st

from medcore import MedcoreError, ui
from medcore.core.audit import input_digest
from medcore.core.plots import probability_bars
from medcore.imaging.model import results_frame
from medcore.imaging.plots import heatmap_overlay

ui.page_header("Image diagnosis")

cards = [card for card in ui.model_cards() if card.get("kind") == "image"]
if not cards:
    st.info("No image models were found in the models folder.")
    st.stop()
by_task = {card["task"]: card["name"] for card in cards}
task = st.selectbox("What kind of image?", list(by_task))
try:
    model = ui.get_model(by_task[task])
except MedcoreError as err:
    st.error(str(err))
    st.stop()

st.markdown(f"**Intended use.** {model.card['intended_use']}")
with st.expander("Limitations and out-of-scope use"):
    st.markdown(f"**Out of scope:** {model.card['out_of_scope_use']}")
    st.markdown("\n".join(f"- {item}" for item in model.card["limitations"]))

uploads = st.file_uploader(
    "Upload one or more images (PNG, JPEG or DICOM)",
    type=["png", "jpg", "jpeg", "dcm", "dicom"],
    accept_multiple_files=True,
)
if not uploads:
    st.info("Upload an image to see the model's probabilities and where it looked.")
    st.stop()


def analyse(name: str, data: bytes, digest: str):
    """Predict one file and audit it (hash and result only)."""
    result = model.analyse([(name, data)])[0]
    summary = {"decision": result.decision, "error": bool(result.error), "probabilities": result.probabilities}
    ui.audit("image diagnosis", model.card, digest, summary)
    return result


# Once per file content in this session: adding a file or moving a slider re-predicts nothing.
keys = [(model.name, upload.name, input_digest(upload.getvalue())) for upload in uploads]
results = [
    ui.memo_each("image", key, lambda u=u, key=key: analyse(u.name, u.getvalue(), key[2]))
    for u, key in zip(uploads, keys)
]
for result in results:
    if result.error:
        st.error(result.error)
ok = [(key, result) for key, result in zip(keys, results) if not result.error]
if len(results) > 1:
    table = results_frame(results, model.labels)
    st.subheader(f"Results for {len(results)} files")
    st.dataframe(table, hide_index=True)
    st.download_button("Download results (CSV)", table.to_csv(index=False), "medcore_results.csv", "text/csv")
if not ok:
    st.stop()

chosen_key, chosen = ok[0]
if len(ok) > 1:
    chosen_key, chosen = ok[st.selectbox("Show details for", range(len(ok)), format_func=lambda i: ok[i][1].name)]
st.subheader(chosen.name)
for note in chosen.warnings:
    st.warning(note)
threshold = model.threshold
verdict = f"**Result: {chosen.decision}**"
if threshold is not None:
    verdict += f" (P({model.positive_label}) {chosen.probabilities[model.positive_label]:.1%} against the operating threshold {threshold:.2f})"
st.markdown(verdict)

left, right = st.columns(2)
with left:
    st.plotly_chart(probability_bars(chosen.probabilities, threshold, model.positive_label))
with right:
    opacity = st.slider("Heatmap opacity", 0.0, 1.0, 0.45, 0.05)
    heatmap = ui.memo_each("gradcam", chosen_key, lambda: model.explain(chosen.prepared))
    st.plotly_chart(
        heatmap_overlay(chosen.prepared.original, heatmap, opacity, f"Grad-CAM: evidence for '{chosen.decision}'")
    )
    st.caption("Red areas pushed the model towards its result. They show where it looked, not why.")
