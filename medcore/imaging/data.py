"""Loaders for the labelled layouts medcore trains and evaluates on.

Images: a MedMNIST ``.npz`` (``<split>_images`` / ``<split>_labels``, as the official files
and ../shared/data/medmnist), or a folder with one sub-folder of PNG/JPEG/DICOM files per
class, named after the model's labels (or their indices).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np

from medcore.core.errors import InvalidInputError
from medcore.core.validate import megabytes

__all__ = [
    "prepared_batch",
    "load_medmnist_npz",
    "load_image_folder",
    "load_image_zip",
    "load_chest_xray",
    "patient_of",
]

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".dcm", ".dicom"}


def load_medmnist_npz(path: Path | str | tuple[str, bytes], split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of one split of a MedMNIST-style ``.npz``.

    Args:
        path: the ``.npz`` file, or ``(name, bytes)`` of an upload (read in memory).
        split: ``train``, ``val`` or ``test``.

    Returns:
        ``(images, labels)``: uint8 (N, H, W) or (N, H, W, 3), and int (N,).

    Raises:
        InvalidInputError: missing file, not an npz, or no such split (the message lists
            the splits present).
    """
    if isinstance(path, tuple):  # (name, bytes) of an upload, read in memory
        name, source = path[0], io.BytesIO(path[1])
    else:
        path = Path(path)
        if not path.is_file():
            raise InvalidInputError(f"No file at '{path}'. Pass the path of a MedMNIST-style .npz file.")
        name, source = path.name, path
    path = Path(name)
    try:
        archive = np.load(source, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise InvalidInputError(f"'{path.name}' is not a readable .npz archive ({err}).") from None
    if not hasattr(archive, "files"):
        raise InvalidInputError(f"'{path.name}' holds a single array, not an .npz archive of named splits.")
    with archive:
        keys = set(archive.files)
        if f"{split}_images" not in keys or f"{split}_labels" not in keys:
            present = sorted({k.rsplit("_", 1)[0] for k in keys if k.endswith(("_images", "_labels"))})
            what_to_do = (
                f"splits present: {present}. Choose one of them as the split (the Split box on the evaluation "
                "page, --split on the command line)."
                if present
                else f"it holds {sorted(keys)[:6]}. Save the images as '{split}_images' (N, H, W[, 3]) and the "
                f"labels as '{split}_labels' (N,) with numpy.savez."
            )
            raise InvalidInputError(
                f"'{path.name}' has no '{split}' split (arrays '{split}_images' and '{split}_labels'); {what_to_do}"
            )
        try:
            images = np.asarray(archive[f"{split}_images"])
            labels = np.asarray(archive[f"{split}_labels"]).reshape(-1)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:  # object arrays need pickle: refused
            raise InvalidInputError(f"'{path.name}' holds arrays medcore cannot read safely ({err}).") from None
    if len(images) != len(labels):
        raise InvalidInputError(f"'{path.name}': {len(images)} images but {len(labels)} labels in split '{split}'.")
    if not np.issubdtype(labels.dtype, np.integer):
        raise InvalidInputError(f"'{path.name}': labels must be integers; got {labels.dtype}.")
    return images, labels.astype(int)


_PATIENT = re.compile(r"^(person\d+)_|^((?:NORMAL2-)?IM-\d+)-")


def patient_of(file_name: str) -> str:
    """The patient of a Kermany chest X-ray file name (``person12_bacteria_3.jpeg``, ``IM-0115-0001.jpeg``).

    Raises:
        InvalidInputError: the name carries no patient.
    """
    match = _PATIENT.match(Path(file_name).name)
    if not match:
        raise InvalidInputError(f"'{file_name}' names no patient (expected 'personNNN_...' or 'IM-NNNN-...').")
    return match.group(1) or match.group(2)


def load_chest_xray(folder: Path | str, labels: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
    """The Kermany chest X-rays of ``shared/data/chest_xray`` (224 px greyscale JPEGs listed in manifest.csv).

    Returns:
        ``(images uint8 (N, 224, 224), label indices (N,), patient ids (N,), manifest rows)``.

    Raises:
        InvalidInputError: no manifest, or a label that is not one of ``labels``.
    """
    import csv

    from PIL import Image

    root = Path(folder)
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        raise InvalidInputError(f"No manifest.csv in '{root}': pass the chest_xray data folder (or its parent).")
    with open(manifest, newline="") as handle:
        rows = list(csv.DictReader(handle))
    unknown = sorted({row["label"] for row in rows} - set(labels))
    if unknown:
        raise InvalidInputError(f"{manifest}: labels {unknown} are not this model's {labels}.")
    images = np.stack([np.asarray(Image.open(root / row["file"]).convert("L")) for row in rows])
    targets = np.array([labels.index(row["label"]) for row in rows])
    patients = np.array([patient_of(row["file"]) for row in rows])
    return images, targets, patients, rows


def load_image_folder(path: Path | str, labels: list[str]) -> tuple[list[bytes], list[str], np.ndarray]:
    """Read a folder of class sub-folders of images.

    Args:
        path: the folder; each sub-folder is named after a label (or its index).
        labels: the model's labels, in order.

    Returns:
        ``(file_bytes, file_names, label_indices)``.

    Raises:
        InvalidInputError: no such folder, a sub-folder that is not a known label, or no images.
    """
    root = Path(path)
    if not root.is_dir():
        raise InvalidInputError(f"No folder at '{root}'. Pass a folder with one sub-folder per class.")
    lookup = {label.lower(): i for i, label in enumerate(labels)}
    lookup.update({str(i): i for i in range(len(labels))})
    contents, names, targets = [], [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        index = lookup.get(folder.name.lower())
        if index is None:
            raise InvalidInputError(
                f"Sub-folder '{folder.name}' is not one of this model's labels {labels} (or 0-{len(labels) - 1}). "
                "Rename it or leave it out."
            )
        for file in sorted(folder.iterdir()):
            if file.suffix.lower() in _IMAGE_SUFFIXES and file.is_file():
                contents.append(file.read_bytes())
                names.append(f"{folder.name}/{file.name}")
                targets.append(index)
    if not contents:
        raise InvalidInputError(f"'{root}' has no PNG, JPEG or DICOM files in class sub-folders.")
    return contents, names, np.array(targets, dtype=int)


def load_image_zip(
    name: str, data: bytes, labels: list[str], max_bytes: int
) -> tuple[list[bytes], list[str], np.ndarray]:
    """Read a zip of class folders of images in memory (the upload form of ``load_image_folder``).

    Args:
        name: the zip's file name, for messages.
        data: the zip's bytes.
        labels: the model's labels; each image's parent folder names its class (label or index).
        max_bytes: refuse archives that would unpack to more than this (zip-bomb guard).

    Raises:
        InvalidInputError: not a zip, too large unpacked, an unknown class folder, or no images.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InvalidInputError(
            f"'{name}' is not a readable zip archive. Zip a folder with one sub-folder per class."
        ) from None
    members = [m for m in archive.infolist() if not m.is_dir() and Path(m.filename).suffix.lower() in _IMAGE_SUFFIXES]
    unpacked = sum(m.file_size for m in members)
    if unpacked > max_bytes:
        raise InvalidInputError(
            f"'{name}' unpacks to {megabytes(unpacked)}; the limit is {megabytes(max_bytes)}. Upload fewer images."
        )
    lookup = {label.lower(): i for i, label in enumerate(labels)}
    lookup.update({str(i): i for i in range(len(labels))})
    contents, names, targets = [], [], []
    for member in sorted(members, key=lambda m: m.filename):
        parts = Path(member.filename).parts
        if len(parts) < 2 or parts[0] == "__MACOSX":
            continue
        index = lookup.get(parts[-2].lower())
        if index is None:
            raise InvalidInputError(
                f"Folder '{parts[-2]}' in '{name}' is not one of this model's labels {labels} (or 0-{len(labels) - 1})."
            )
        contents.append(archive.read(member))
        names.append("/".join(parts[-2:]))
        targets.append(index)
    if not contents:
        raise InvalidInputError(f"'{name}' has no PNG, JPEG or DICOM files inside class folders.")
    return contents, names, np.array(targets, dtype=int)


def prepared_batch(
    images: list[np.ndarray],
    side: int,
    channels: int,
    framing: str = "crop",
    source: tuple[int, str] | None = None,
    resample: str = "bicubic",
) -> np.ndarray:
    """float32 (N, side, side, channels) model inputs of uint8 images of any size, as the model prepares them
    (``framing``, ``source`` and ``resample`` as in ``medcore.imaging.decode.to_model_input``)."""
    from medcore.imaging.decode import as_image_list, to_model_input  # decode needs no data readers

    images = list(images)
    decoded = [image for start in range(0, len(images), 200) for image in as_image_list(images[start : start + 200])]
    return np.stack(
        [
            to_model_input(image, side, channels, framing=framing, source=source, resample=resample).model_input
            for image in decoded
        ]
    )
