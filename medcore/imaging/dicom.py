"""Read a DICOM file's pixels the way a viewer shows them.

Applies the modality LUT (rescale slope/intercept), the VOI LUT or window centre/width,
inverts MONOCHROME1 so bone is bright, and takes the middle frame of a multi-frame file
(as torchxrayvision's ``read_xray_dcm`` does). Compressed transfer syntaxes that the
installed decoders cannot handle are refused with a message that says how to fix it.
"""

from __future__ import annotations

import io
import logging
import warnings

import numpy as np

from medcore.core.errors import InvalidInputError
from medcore.core.settings import LIMITS

__all__ = ["is_dicom", "read_dicom", "pixel_spacing_mm"]


def is_dicom(data: bytes) -> bool:
    """True when ``data`` carries the DICOM preamble magic ('DICM' at byte 128)."""
    return len(data) >= 132 and data[128:132] == b"DICM"


def read_dicom(data: bytes, name: str = "file") -> tuple[np.ndarray, list[str], str | None]:
    """Decode DICOM bytes to a display-ready image.

    Args:
        data: the file's bytes.
        name: the file name, used in messages.

    Returns:
        ``(image, warnings, modality)``: image is uint8 (H, W) for grayscale or (H, W, 3)
        for colour, scaled to [0, 255] after windowing; warnings are human-readable notes;
        modality is the DICOM Modality code (e.g. ``"CR"``) or None.

    Raises:
        InvalidInputError: not DICOM, no pixel data, an undecodable compression, or too large.
    """
    try:
        # pydicom warns (and logs) with the offending values, which may be patient data:
        # keep them out of the server's logs.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logger = logging.getLogger("pydicom")
            level, logger.level = logger.level, logging.ERROR
            try:
                return _read_dicom(data, name)
            finally:
                logger.setLevel(level)
    except InvalidInputError:
        raise
    except Exception as err:  # hostile bytes make pydicom raise almost anything, lazily
        raise InvalidInputError(
            f"'{name}' could not be read as DICOM ({type(err).__name__}: it is damaged or not a valid "
            "DICOM file). Export the image again from your PACS or viewer, as DICOM or as PNG."
        ) from None


def _read_dicom(data: bytes, name: str) -> tuple[np.ndarray, list[str], str | None]:
    import pydicom
    from pydicom.errors import InvalidDicomError

    notes: list[str] = []
    try:
        dataset = pydicom.dcmread(io.BytesIO(data), force=not is_dicom(data))
    except (InvalidDicomError, EOFError, ValueError, KeyError, OSError, TypeError) as err:
        raise InvalidInputError(
            f"'{name}' could not be read as DICOM ({err}). Export the image again from "
            "your PACS or viewer, as DICOM or as PNG."
        ) from None
    if "PixelData" not in dataset:
        raise InvalidInputError(
            f"'{name}' is a DICOM file without pixel data (for example a structured report "
            "or a plan). Upload the image series' DICOM file instead."
        )
    rows, cols = int(dataset.get("Rows", 0) or 0), int(dataset.get("Columns", 0) or 0)
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    if rows * cols * max(frames, 1) > LIMITS["max_image_pixels"]:
        raise InvalidInputError(
            f"'{name}' declares {frames} frame(s) of {cols}x{rows} pixels, more than the "
            f"{LIMITS['max_image_pixels']:,} pixels medcore accepts. Export one frame, "
            "downsized, as PNG."
        )
    syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
    try:
        pixels = dataset.pixel_array
    except Exception as err:  # pydicom raises many types for missing decoders and bad data
        syntax_text = f"{syntax.name} ({syntax})" if syntax is not None else "unknown"
        compressed = syntax is not None and getattr(syntax, "is_compressed", False)
        hint = (
            "This transfer syntax is compressed and no installed decoder handles it: "
            "convert it to uncompressed DICOM (e.g. `gdcmconv --raw`) or export a PNG."
            if compressed
            else "The pixel data is damaged or truncated: export the image again."
        )
        raise InvalidInputError(
            f"'{name}': the pixel data could not be decoded (transfer syntax {syntax_text}: "
            f"{type(err).__name__}). {hint}"
        ) from None

    pixels = np.asarray(pixels)
    modality = str(dataset.get("Modality", "") or "").strip() or None
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    samples = int(dataset.get("SamplesPerPixel", 1) or 1)
    colour = samples == 3
    if frames > 1 and pixels.ndim == (4 if colour else 3):
        pixels = pixels[frames // 2]
        notes.append(f"'{name}' has {frames} frames; the middle frame ({frames // 2 + 1}) is used.")
    if colour:
        if photometric.startswith("YBR"):
            from pydicom.pixels import convert_color_space

            pixels = convert_color_space(pixels, photometric, "RGB")
        return _to_uint8(pixels.astype(np.float64)), notes, modality

    if pixels.ndim != 2:
        raise InvalidInputError(
            f"'{name}' has pixel data of shape {pixels.shape}; expected one 2-D image. Export a single frame."
        )
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    image = apply_modality_lut(pixels, dataset).astype(np.float64)
    if "VOILUTSequence" in dataset or "WindowCenter" in dataset:
        try:
            image = apply_voi_lut(image, dataset, index=0).astype(np.float64)
        except Exception:  # a malformed window is not fatal: fall back to the full range
            notes.append(f"'{name}': its VOI LUT / window could not be applied; full range used.")
    if photometric == "MONOCHROME1":
        image = image.max() - image
    return _to_uint8(image), notes, modality


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """Min-max scale a float image to uint8 [0, 255] (flat images become 0)."""
    image = np.nan_to_num(image, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(image.min()), float(image.max())
    if high <= low:
        return np.zeros(image.shape, dtype=np.uint8)
    return np.round((image - low) / (high - low) * 255.0).astype(np.uint8)


def pixel_spacing_mm(data: bytes) -> tuple[float, float] | None:
    """The (row, column) size of one pixel in mm that a DICOM file states, or None.

    Read from PixelSpacing, else ImagerPixelSpacing (projection radiographs), else the first
    ultrasound region's PhysicalDeltaY/X when its units are cm (code 3). Values that are missing,
    zero, negative or implausible (over 10 mm a pixel) give None: a size in pixels, said so, beats
    a wrong size in mm.
    """
    import pydicom

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = pydicom.dcmread(io.BytesIO(data), force=not is_dicom(data), stop_before_pixels=True)
            spacing = None
            for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
                value = dataset.get(keyword)
                if value is not None and len(value) == 2:
                    spacing = (float(value[0]), float(value[1]))
                    break
            if spacing is None and "SequenceOfUltrasoundRegions" in dataset:
                region = dataset.SequenceOfUltrasoundRegions[0]
                units = (int(region.get("PhysicalUnitsYDirection", 0)), int(region.get("PhysicalUnitsXDirection", 0)))
                if units == (3, 3):
                    spacing = (float(region.PhysicalDeltaY) * 10.0, float(region.PhysicalDeltaX) * 10.0)
    except Exception:  # hostile or damaged headers: no spacing, the sizes stay in pixels
        return None
    if spacing is None or not all(0.0 < v <= 10.0 and np.isfinite(v) for v in spacing):
        return None
    return spacing
