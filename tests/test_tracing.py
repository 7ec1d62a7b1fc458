"""Compiled model functions are traced once: a new batch size never rebuilds the graph (which costs
tenths of a second and warns "triggered tf.function retracing")."""

from __future__ import annotations

import numpy as np

import medcore


def test_image_router_gradcam_text_and_segmentation_are_traced_once(rng):
    images = rng.integers(0, 256, size=(7, 40, 40), dtype=np.uint8)
    model = medcore.load_model("pneumonia-cxr")
    router = medcore.load_model("image-modality")
    for n in (1, 2, 3, 5, 7):
        model.predict_proba(images[:n])
        router.predict_proba(images[:n])
    for image in images[:3]:
        model.explain(image)
        model.explain(image, class_index=0)
    text = medcore.load_model("symptom-text")
    for n in (1, 2, 3, 4):
        text.predict_proba(["itchy skin and a rash"] * n)
    segmenter = medcore.load_model("breast-lesion-segmentation")
    for side in (30, 64, 200):
        segmenter.probabilities(rng.integers(0, 256, size=(side, side), dtype=np.uint8))
    assert model._forward_features.experimental_get_tracing_count() == 1
    assert router._forward.experimental_get_tracing_count() == 1
    assert model._gradcam.traced.experimental_get_tracing_count() == 1
    assert text._forward.experimental_get_tracing_count() == 1
    assert segmenter._forward.experimental_get_tracing_count() == 1
