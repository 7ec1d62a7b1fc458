"""Print the image models' quality and speed figures (not a test; nothing is asserted).

Reproduce with:
    MEDCORE_DATA_DIR=../shared/data .venv/bin/python benchmarks/image_models.py

Quality is measured on the validation split (the only labelled data the project has; the
official test split is withheld), beside the MedMNIST v2 paper's test-split anchors.
Speed: model load, one image with Grad-CAM, a batch of 624 images, peak memory.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import numpy as np  # noqa: E402

from benchmarks.timing import median_ms  # noqa: E402

# MedMNIST v2 (Yang et al. 2023), official test split: (AUC, ACC)
ANCHORS = {
    "pneumonia-cxr": {
        "best ResNet": (0.962, 0.884),
        "AutoML Vision": (0.991, 0.946),
        "Kermany 2018 Inception-v3, the 624 test originals": (0.968, 0.928),
    },
    "breast-ultrasound": {"best ResNet": (0.901, 0.863), "AutoML Vision": (0.919, 0.861)},
    "retina-dr": {"best ResNet": (0.726, 0.528), "AutoML Vision": (0.750, 0.531)},
}


def _median_ms(function, repeats: int = 30) -> float:
    return median_ms(function, repeats)


def _speed(model, rng: np.random.Generator) -> str:
    """Latency of one image (any size) with Grad-CAM, as the page does it, and of a batch."""
    shape = (28, 28, 3) if model.channels == 3 else (28, 28)
    small = rng.integers(0, 256, shape, dtype=np.uint8)
    large = rng.integers(0, 256, (512, 512) + shape[2:], dtype=np.uint8)
    full = rng.integers(0, 256, (1800, 2200) + shape[2:], dtype=np.uint8)  # a full-size X-ray's pixel count
    batch = rng.integers(0, 256, (624,) + shape, dtype=np.uint8)

    def one_with_gradcam(image):
        """As the page does it: decode is done; prepare, predict and explain the prepared image."""
        result = model.analyse([("x.png", _png(image))])[0]
        if result.prepared is not None:
            model.explain(result.prepared)

    return (
        f"one 28x28 image + Grad-CAM {_median_ms(lambda: one_with_gradcam(small)):.1f} ms | "
        f"one 512x512 image + Grad-CAM {_median_ms(lambda: one_with_gradcam(large), 10):.1f} ms | "
        f"one 2200x1800 image (PNG) + Grad-CAM {_median_ms(lambda: one_with_gradcam(full), 5):.0f} ms | "
        f"batch of 624 at 28 px {_median_ms(lambda: model.predict_proba(batch), 3):.0f} ms"
    )


def _png(image: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def main() -> None:
    started = time.perf_counter()
    import tensorflow  # noqa: F401  (imported lazily by medcore; timed here on its own)

    import medcore
    from medcore.core.metrics import classification_summary
    from medcore.imaging.data import load_medmnist_npz

    print(f"import TensorFlow + medcore: {time.perf_counter() - started:.1f} s")
    data_dir = os.environ.get("MEDCORE_DATA_DIR")
    rng = np.random.default_rng(0)
    for name, anchors in ANCHORS.items():
        start = time.perf_counter()
        model = medcore.load_model(name)
        load_s = time.perf_counter() - start
        card = model.card
        print(f"\n== {name}  ({card['task']})")
        print(f"   trained in {card['training']['wall_time_s']:.0f} s; {card['architecture']}")
        if data_dir and (Path(data_dir) / card["training"]["data_file"]).is_file():
            images, labels = load_medmnist_npz(Path(data_dir) / card["training"]["data_file"], "val")
            summary = classification_summary(labels, model.predict_proba(images), model.labels)
            print(
                f"   validation (n={summary['n']}): AUC {summary['auc']:.3f}  ACC {summary['accuracy']:.3f}  "
                f"macro-F1 {summary['macro_f1']:.3f}"
            )
        else:
            figures = card["metrics"]["validation"]
            print(f"   validation ({figures['split']}, n={figures['n']}; card): AUC {figures['auc']:.3f}")
            if "full_size" in figures:
                full = figures["full_size"]
                print(
                    f"   full-size check (n={full['n']}, {full['images']}): AUC {full['auc']:.3f}, decision accuracy "
                    f"{full['decision_accuracy']:.3f}, sensitivity {full['sensitivity']:.3f}, specificity "
                    f"{full['specificity']:.3f}"
                )
        calibration = card["calibration"]
        print(
            f"   calibration T={calibration['temperature']:.3f}: ECE {calibration['validation_before']['ece']:.3f} -> "
            f"{calibration['validation_after']['ece']:.3f}, Brier {calibration['validation_before']['brier']:.3f} -> "
            f"{calibration['validation_after']['brier']:.3f}"
        )
        if "threshold" in card["operating_point"]:
            point = card["operating_point"]["validation"]
            print(
                f"   operating threshold {card['operating_point']['threshold']:.3f}: sensitivity "
                f"{point['sensitivity']:.3f}, specificity {point['specificity']:.3f}"
            )
        for anchor, (auc, acc) in anchors.items():
            print(f"   anchor {anchor} (official test split): AUC {auc:.3f}  ACC {acc:.3f}")
        print(f"   load + verify {load_s * 1000:.0f} ms | {_speed(model, rng)}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory with all three models loaded: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
