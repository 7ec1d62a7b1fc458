"""Shared fixtures: quiet TensorFlow, tiny in-code images, real-data and bundle locations."""

from __future__ import annotations

import atexit
import io
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
# No background model loading in the test process or the servers it starts (test_registry tests it).
os.environ.setdefault("MEDCORE_WARM_UP", "0")
# Keep the test run's audit records out of the project's audit/ folder (removed at exit).
if "MEDCORE_AUDIT_LOG" not in os.environ:
    _AUDIT_DIR = tempfile.mkdtemp(prefix="medcore-audit-")
    atexit.register(shutil.rmtree, _AUDIT_DIR, ignore_errors=True)
    os.environ["MEDCORE_AUDIT_LOG"] = os.path.join(_AUDIT_DIR, "audit.jsonl")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
IMAGE_MODELS = ("pneumonia-cxr", "breast-ultrasound", "retina-dr")


def png_bytes(array: np.ndarray, **save_args) -> bytes:
    """Encode a uint8/uint16 array as PNG bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", **save_args)
    return buffer.getvalue()


def jpeg_bytes(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(42)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data folder from MEDCORE_DATA_DIR; skips the test when it is absent."""
    configured = os.environ.get("MEDCORE_DATA_DIR")
    if not configured or not Path(configured, "medmnist").is_dir():
        pytest.skip("real data not available: set MEDCORE_DATA_DIR to the shared data folder (CI: ../shared/data)")
    return Path(configured)


@pytest.fixture(scope="session")
def ct_small() -> bytes:
    """pydicom's bundled CT_small.dcm (MONOCHROME2, 128x128, int16)."""
    from pydicom.data import get_testdata_file

    return Path(get_testdata_file("CT_small.dcm")).read_bytes()


def pytest_terminal_summary(terminalreporter):
    """Report how many property-based cases ran (tests/test_fuzz.py)."""
    import sys

    fuzz = sys.modules.get("tests.test_fuzz")
    if fuzz is not None and fuzz.COUNTS:
        counts = ", ".join(f"{name} {n}" for name, n in sorted(fuzz.COUNTS.items()))
        terminalreporter.write_line(f"property-based cases run: {sum(fuzz.COUNTS.values())} ({counts})")


_MEDMNIST = {
    "pneumonia-cxr": "pneumoniamnist_trainval.npz",
    "breast-ultrasound": "breastmnist_trainval.npz",
    "retina-dr": "retinamnist_trainval.npz",
}


@pytest.fixture(scope="session")
def genuine(data_dir) -> dict[str, np.ndarray]:
    """Twenty real validation images per image model, as each model's own network reads them: chest
    X-rays of validation patients at 224 px (uint8 (20, 224, 224)), BUSI val images at 256 px, retina
    MedMNIST val images at 28 px; skips without the data."""
    images = {name: small[:20] for name, small in genuine_small(data_dir).items()}
    images["pneumonia-cxr"] = validation_xrays(data_dir, 20)[0]
    with np.load(data_dir / "busi_segmentation" / "busi_seg_trainval.npz", allow_pickle=False) as archive:
        images["breast-ultrasound"] = archive["images"][archive["breastmnist_split"] == "val"][:20]
    return images


def genuine_small(data_dir: Path) -> dict[str, np.ndarray]:
    """The MedMNIST val images (28 px) of each image model."""
    images = {}
    for name, file_name in _MEDMNIST.items():
        with np.load(data_dir / "medmnist" / file_name, allow_pickle=False) as archive:
            images[name] = archive["val_images"]
    return images


def validation_xrays(data_dir: Path, n: int) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """``n`` chest X-rays (uint8 (n, 224, 224)), their labels and manifest rows, from the patients the
    shipped pneumonia model was validated on (never trained on), alternating normal and pneumonia."""
    import csv

    from PIL import Image

    from medcore.imaging.data import patient_of
    from medcore.imaging.train import patient_split

    folder = data_dir / "chest_xray"
    with open(folder / "manifest.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    labels = np.array([int(row["label"] == "pneumonia") for row in rows])
    _, held = patient_split(labels, np.array([patient_of(row["file"]) for row in rows]), seed=0)
    by_label = [[i for i in held if labels[i] == label] for label in (0, 1)]
    chosen = [by_label[k % 2][k // 2] for k in range(n)]
    images = np.stack([np.asarray(Image.open(folder / rows[i]["file"]).convert("L")) for i in chosen])
    return images, labels[chosen], [rows[i] for i in chosen]
