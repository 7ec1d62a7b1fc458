"""Labelled image files for evaluation: a MedMNIST-style ``.npz`` or class folders of images.

``medcore.core.evaluate`` calls ``read_path`` (CLI: a file or folder) and ``read_upload``
(page: bytes in memory) and scores the result like every classifier.
"""

from __future__ import annotations

from pathlib import Path

from medcore.core.errors import InvalidInputError
from medcore.core.settings import LIMITS
from medcore.imaging.data import load_image_folder, load_image_zip, load_medmnist_npz

__all__ = ["ACCEPTED_UPLOADS", "read_path", "read_upload"]

ACCEPTED_UPLOADS = {
    ".npz": "MedMNIST-style .npz (<split>_images, <split>_labels)",
    ".zip": "zip of one folder of images per class",
}


def read_path(model, path: Path, split: str = "test"):
    """``(images or file bytes, names, y_true)`` from an ``.npz`` split or a folder of class folders.

    Raises:
        InvalidInputError: neither layout, or one that does not fit the model's labels.
    """
    if path.is_dir():
        return load_image_folder(path, model.labels)
    if path.suffix.lower() == ".npz":
        images, y_true = load_medmnist_npz(path, split)
        return images, [f"{split}[{i}]" for i in range(len(images))], y_true
    raise InvalidInputError(
        f"'{path.name}' is neither a MedMNIST-style .npz nor a folder of class sub-folders; "
        "image models are evaluated on one of those."
    )


def read_upload(model, name: str, data: bytes, split: str = "test"):
    """The upload form of ``read_path``: an ``.npz`` or a zip of class folders, read in memory."""
    if Path(name).suffix.lower() == ".npz":
        images, y_true = load_medmnist_npz((name, data), split)
        return images, [f"{split}[{i}]" for i in range(len(images))], y_true
    return load_image_zip(name, data, model.labels, LIMITS["max_unpacked_bytes"])
