"""Image diagnosis: upload PNG/JPEG/DICOM images; the page finds the model for their kind and shows
calibrated probabilities and Grad-CAM, or says plainly that an image is outside what the model knows."""

import streamlit as st

from medcore import MedcoreError, ui
from medcore.core.audit import input_digest
from medcore.core.plots import probability_bars
from medcore.imaging.modality import detect_uploads, route_models, suggested_model
from medcore.imaging.model import MODALITY_MODEL, decision_text, operating_point_text, results_frame

ui.page_header("Image diagnosis")

cards = [card for card in ui.model_cards() if card.get("kind") == "image"]
if not cards:
    st.info("No image models were found in the models folder.")
    st.stop()
by_name = {card["name"]: card for card in cards}

uploads = st.file_uploader(
    "Upload one or more images (PNG, JPEG or DICOM): chest X-ray, breast ultrasound or fundus photograph",
    type=["png", "jpg", "jpeg", "dcm", "dicom"],
    accept_multiple_files=True,
)
files = [(upload.name, upload.getvalue()) for upload in uploads or []]
digests = [input_digest(data) for _, data in files]
router = None  # loaded only once there is something to look at: the page opens without waiting for a model
try:
    if files and MODALITY_MODEL in {c["name"] for c in ui.model_cards()}:
        router = ui.get_model(MODALITY_MODEL)
except MedcoreError as err:
    st.warning(f"The image-kind check is unavailable, so no model is preselected: {err}")
detections = [
    ui.memo_each("modality", digest, lambda file=file: detect_uploads(router, [file])[0])
    for file, digest in zip(files, digests)
]
detected = suggested_model(detections, list(by_name))
names = list(by_name)
name = st.selectbox(
    "Model",
    names,
    index=names.index(detected) if detected else 0,
    format_func=lambda n: by_name[n]["task"],
    key=f"image-model-{detected}",  # a new detection preselects again
)
routes = route_models(detections, name, names)
mixed = len(set(routes)) > 1
if mixed:
    counts = {model: routes.count(model) for model in dict.fromkeys(routes)}
    st.info(
        "The uploads are of more than one kind, so each image is read by the model for its kind: "
        + "; ".join(f"{by_name[m]['task']}: {n} image{'s' * (n > 1)}" for m, n in counts.items())
        + ". Images of no recognised kind go to the model chosen above."
    )
elif detected and name == detected:
    st.caption("Chosen for what the uploads look like.")
elif detected:
    st.warning(
        f"The uploads look like {by_name[detected]['input'].get('modality', detected)} images, but you chose "
        f"'{by_name[name]['task']}': images of another kind are not analysed by it."
    )
elif files and router is not None:
    st.info(
        "None of the uploads looks like a chest X-ray, a breast ultrasound or a fundus photograph, so no model "
        "was chosen for them; the model below will refuse what it was not built for."
    )
try:
    card = ui.verified_card(name)  # a damaged bundle is refused now, before anything is uploaded
except MedcoreError as err:
    st.error(str(err))
    st.stop()
st.markdown(f"**Intended use.** {card['intended_use']}")
with st.expander("Limitations and out-of-scope use"):
    st.markdown(f"**Out of scope:** {card['out_of_scope_use']}")
    st.markdown("\n".join(f"- {item}" for item in card["limitations"]))
if not files:
    st.info("Upload an image to see the model's probabilities and where it looked.")
    st.stop()
try:
    models = {route: ui.get_model(route) for route in dict.fromkeys(routes)}
except MedcoreError as err:
    st.error(str(err))
    st.stop()


def analyse(model, file_name: str, data: bytes, digest: str, detection: dict | None):
    """Predict one file (with the kind already detected above) and audit it (hash and result only)."""
    result = model.analyse([(file_name, data)], [detection] if router is not None else None)[0]
    summary = {
        "decision": result.decision,
        "out_of_domain": result.out_of_domain,
        "error": bool(result.error),
        "probabilities": result.probabilities,
    }
    ui.audit("image diagnosis", model.card, digest, summary)
    return result


# Once per model and file content in this session: adding a file or moving a slider re-predicts nothing.
keys = [(route, file_name, digest) for route, (file_name, _), digest in zip(routes, files, digests)]
results = [
    ui.memo_each("image", key, lambda f=file, k=key, seen=seen: analyse(models[k[0]], f[0], f[1], k[2], seen))
    for file, key, seen in zip(files, keys, detections)
]
for result in results:
    if result.error:
        st.error(result.error)
    elif result.out_of_domain:
        st.warning(result.warnings[0])
ok = [(key, result) for key, result in zip(keys, results) if not result.error and not result.out_of_domain]
if len(results) > 1:
    labels = list(dict.fromkeys(label for model in models.values() for label in model.labels))
    table = results_frame(results, labels, routes if mixed else None)
    st.subheader(f"Results for {len(results)} files")
    st.dataframe(
        table.style.format(precision=4, na_rep="–"),  # "–": no answer
        hide_index=True,
        column_config={"warnings": st.column_config.TextColumn("warnings", width="large")},
    )
    st.download_button("Download results (CSV)", table.to_csv(index=False), "medcore_results.csv", "text/csv")
    notes = [(result.name, note) for result in results if not result.error for note in result.warnings]
    if notes:  # a table cell cuts long text: every note in full
        with st.expander(f"Notes on the files, in full ({len(notes)})", expanded=True):
            st.markdown("\n".join(f"- **{file_name}**: {note}" for file_name, note in notes))
if not ok:
    st.stop()

chosen_key, chosen = ok[0]
if len(ok) > 1:
    chosen_key, chosen = ok[st.selectbox("Show details for", range(len(ok)), format_func=lambda i: ok[i][1].name)]
model = models[chosen_key[0]]
st.subheader(chosen.name)
if mixed:
    st.caption(f"Read by the {model.card['task']} model ({model.name}).")
for note in chosen.warnings:
    st.warning(note)
threshold = chosen.threshold
st.markdown(f"**Result: {decision_text(model.card, chosen)}**")
point = operating_point_text(model.card, chosen.answered_by) if threshold is not None else None
if point:
    st.caption(point)
ranked = sorted(chosen.probabilities.values(), reverse=True)
if threshold is None and ranked[0] < 0.5:
    st.warning(
        f"The model is unsure: its most likely class has {ranked[0]:.0%} and the next {ranked[1]:.0%}. "
        "Read the whole distribution, not only the result."
    )

left, right = st.columns(2)
with left:
    ordinal = bool(model.card["input"].get("ordinal_labels"))  # grades stay in their order
    st.plotly_chart(probability_bars(chosen.probabilities, threshold, model.positive_label, ordered=ordinal))
with right:
    heatmap = ui.memo_each("gradcam", chosen_key, lambda: model.explain(chosen.prepared))
    ui.gradcam_panel(chosen.prepared.original, heatmap, chosen.decision)  # its slider redraws it alone

if model.name == "breast-ultrasound":  # where the lesion is and how big, beside the classifier's answer
    ui.lesion_section(
        chosen.prepared.original,
        chosen.probabilities.get(model.positive_label),
        threshold,
        chosen_key,
        heatmap,
        chosen.prepared.pixel_spacing,
    )
