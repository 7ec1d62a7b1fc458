"""The image networks in NumPy answer as Keras does, and the image path never imports TensorFlow."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import medcore
from medcore.imaging.numpy_cnn import CnnEnsemble
from tests.conftest import IMAGE_MODELS, PROJECT


@pytest.mark.data
@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_logits_features_and_grad_cam_equal_keras(name, genuine):
    import keras

    from medcore.imaging.cnn import feature_model, gradcam_function

    network = keras.saving.load_model(PROJECT / "models" / name / "model.keras", compile=False, safe_mode=True)
    model = medcore.load_model(name)
    batch = np.stack([p.model_input for p in model.prepare(genuine[name][:12])]).astype(np.float32)
    logits, features = (np.asarray(t) for t in feature_model(network)(batch, training=False))
    ours = CnnEnsemble.read(PROJECT / "models" / name / "model.keras")
    our_logits, our_features = ours.forward(batch)
    assert np.abs(our_logits - logits).max() < 1e-4 and np.abs(our_features - features).max() < 1e-4
    gradcam = gradcam_function(network)
    for index in range(3):
        for class_index in range(len(model.labels)):
            expected = gradcam(batch[index : index + 1], class_index)
            assert np.abs(ours.cam(batch[index : index + 1], class_index) - expected).max() < 1e-4


def test_the_router_equals_keras_too(rng):
    import keras

    path = PROJECT / "models" / "image-modality" / "model.keras"
    network = keras.saving.load_model(path, compile=False, safe_mode=True)
    batch = rng.uniform(0, 255, size=(8, 28, 28, 3)).astype(np.float32)
    assert np.abs(CnnEnsemble.read(path).forward(batch)[0] - np.asarray(network(batch, training=False))).max() < 1e-4


def test_loading_and_predicting_images_never_imports_tensorflow():
    code = (
        "import sys, numpy as np, medcore\n"
        "router, model = medcore.load_model('image-modality'), medcore.load_model('pneumonia-cxr')\n"
        "image = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)\n"
        "router.detect([image]); model.predict_proba(image); model.explain(image)\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_file_that_is_not_a_build_ensemble_network_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", '{"config": {"layers": []}}')
        archive.writestr("model.weights.h5", b"")
    with pytest.raises(ValueError, match="build_ensemble"):
        CnnEnsemble.read(path)
