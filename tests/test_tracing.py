"""Compiled TensorFlow functions are traced once: a new batch size never rebuilds the graph (which costs
tenths of a second and warns "triggered tf.function retracing"). The image networks run in NumPy
(tests/imaging/test_numpy_cnn.py)."""

from __future__ import annotations

import numpy as np

import medcore


def test_the_text_network_and_the_u_net_are_traced_once(rng):
    text = medcore.load_model("symptom-text")
    for n in (1, 2, 3, 4):
        text.predict_proba(["itchy skin and a rash"] * n)
    segmenter = medcore.load_model("breast-lesion-segmentation")
    for side in (30, 64, 200):
        segmenter.probabilities(rng.integers(0, 256, size=(side, side), dtype=np.uint8))
    assert text._forward.experimental_get_tracing_count() == 1
    assert segmenter._forward.experimental_get_tracing_count() == 1
