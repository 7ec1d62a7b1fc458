"""Turn whatever a user hands us into the image a model expects.

``decode_image`` reads PNG (8- and 16-bit), JPEG and DICOM bytes into a uint8 array and
refuses everything else with a message naming the file. ``to_model_input`` makes any array
or PIL image fit a model: the MedMNIST preprocessing (centre crop to a square, antialiased
resize to the model's side), grayscale/RGB conversion, and warnings for inputs unlike the
training data (tiny, very dark or bright, low contrast, colour into a grayscale model).
"""

from __future__ import annotations

import io
import struct
import warnings as _warnings
import zlib
from dataclasses import dataclass, field

import numpy as np

from medcore.core.errors import InvalidInputError
from medcore.core.settings import LIMITS
from medcore.core.validate import check_count, check_file_bytes
from medcore.imaging.dicom import is_dicom, pixel_spacing_mm, read_dicom

__all__ = ["DecodedImage", "PreparedImage", "decode_image", "as_image_list", "to_model_input", "framing_of"]

_ACCEPTED = "a PNG, JPEG or DICOM file"


CROP_NOTICE_SHARE = 0.01  # a centre crop that leaves out more than this share of the image is said


@dataclass
class DecodedImage:
    """One decoded image: uint8 (H, W) or (H, W, 3) pixels, its source format and notes."""

    name: str
    pixels: np.ndarray
    source: str
    warnings: list[str] = field(default_factory=list)
    modality: str | None = None
    pixel_spacing: tuple[float, float] | None = None  # (row, column) mm per pixel, when a DICOM states it


@dataclass
class PreparedImage:
    """An image ready for a model plus how it was obtained.

    ``model_input`` is float32 (side, side, channels) in [0, 255]; ``crop`` is the
    (top, left, size) square of ``original`` that was resized (``framing`` "crop"), or
    (0, 0, 0) when the whole frame was squashed to a square (``framing`` "squash"), so heatmaps
    can be mapped back.
    """

    name: str
    original: np.ndarray
    model_input: np.ndarray
    crop: tuple[int, int, int]
    warnings: list[str] = field(default_factory=list)
    framing: str = "crop"
    pixel_spacing: tuple[float, float] | None = None  # of ``original``, from its DICOM header


def _sniff(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if is_dicom(data):
        return "DICOM"
    for magic, kind in (
        (b"GIF8", "GIF"),
        (b"II*\x00", "TIFF"),
        (b"MM\x00*", "TIFF"),
        (b"BM", "BMP"),
        (b"%PDF", "PDF"),
        (b"PK\x03\x04", "ZIP archive"),
        (b"RIFF", "RIFF (WebP/AVI)"),
    ):
        if data.startswith(magic):
            return kind
    head = data[:512]
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "text"
    return "unknown"


def decode_image(data: bytes, name: str = "file") -> DecodedImage:
    """Decode PNG, JPEG or DICOM bytes.

    Args:
        data: the file's bytes.
        name: the file name, used in every message.

    Returns:
        A ``DecodedImage`` with uint8 pixels (H, W) or (H, W, 3).

    Raises:
        InvalidInputError: empty, too large, not one of the accepted formats, truncated or
            corrupt, animated, or declaring more pixels than ``LIMITS['max_image_pixels']``.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidInputError(f"Expected the bytes of {_ACCEPTED}; got {type(data).__name__}.")
    data = bytes(data)
    check_file_bytes(name, data, f"Upload {_ACCEPTED} that has an image in it, under the size limit.")
    kind = _sniff(data)
    if kind == "DICOM" or (kind == "unknown" and name.lower().endswith((".dcm", ".dicom"))):
        pixels, notes, modality = read_dicom(data, name)
        return _checked(DecodedImage(name, pixels, "DICOM", notes, modality, pixel_spacing_mm(data)))
    if kind not in ("PNG", "JPEG"):
        got = "a text file" if kind == "text" else (f"a {kind} file" if kind != "unknown" else "an unrecognised format")
        raise InvalidInputError(
            f"Expected {_ACCEPTED}; '{name}' is {got}. Export the image from your viewer as PNG or DICOM."
        )
    return _checked(_decode_pillow(data, name, kind))


def _decode_pillow(data: bytes, name: str, kind: str) -> DecodedImage:
    from PIL import Image, ImageOps, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = LIMITS["max_image_pixels"]
    broken = f"'{name}' looks like a {kind} but could not be decoded: it is truncated or corrupt. Export it again."
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > LIMITS["max_image_pixels"]:
                raise Image.DecompressionBombError("too many pixels")
            if getattr(image, "n_frames", 1) > 1:
                raise InvalidInputError(
                    f"'{name}' is animated ({image.n_frames} frames); expected a single image. "
                    "Export the frame you want as PNG."
                )
            image.load()
            if kind == "PNG" and not _png_pixels_complete(data):
                raise EOFError("the PNG's pixel data end before its last row")
            image = ImageOps.exif_transpose(image)
    except InvalidInputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidInputError(
            f"'{name}' declares more than {LIMITS['max_image_pixels']:,} pixels, which medcore refuses "
            "(it may be a decompression bomb). Downsize the image and upload it again."
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise InvalidInputError(broken) from None
    notes: list[str] = []
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) * 255.0 if high > low else np.zeros_like(values)
        notes.append(f"'{name}' is a {16 if '16' in mode else 32}-bit image; its full range was scaled to 8 bits.")
        return DecodedImage(name, np.round(scaled).astype(np.uint8), kind, notes)
    if mode in ("1", "L", "LA", "P") and not (mode == "P" and _palette_is_colour(image)):
        return DecodedImage(name, np.asarray(image.convert("L"), dtype=np.uint8), kind, notes)
    if mode in ("RGBA", "LA", "PA", "P") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        image = Image.alpha_composite(background, rgba)
    return DecodedImage(name, np.asarray(image.convert("RGB"), dtype=np.uint8), kind, notes)


_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def _png_pixels_complete(data: bytes) -> bool:
    """Whether a PNG's compressed pixel data hold every row its header declares.

    Pillow accepts a PNG whose data stop exactly at a row boundary and leaves the missing rows
    black; a truncated upload must be refused instead. Call after Pillow has read the file (so
    the chunks are well formed and the size is within the pixel limit)."""
    offset, idat, header = 8, [], None
    while offset + 8 <= len(data):  # the first IHDR and the first run of IDAT chunks, as Pillow reads them
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR" and header is None and len(body) >= 13:
            header = struct.unpack(">IIBBBBB", body[:13])
        elif kind == b"IDAT":
            idat.append(body)
        elif idat or kind == b"IEND":
            break
        offset += 12 + length
    if header is None or header[3] not in _CHANNELS:
        return False
    width, height, depth, colour, _, _, interlaced = header
    bits = depth * _CHANNELS[colour]
    passes = _ADAM7 if interlaced else ((0, 0, 1, 1),)
    expected = 0
    for x0, y0, dx, dy in passes:
        columns, rows = -(-max(width - x0, 0) // dx), -(-max(height - y0, 0) // dy)
        if columns and rows:
            expected += rows * (1 + -(-columns * bits // 8))  # a filter byte, then the packed row
    try:
        pixels = zlib.decompressobj().decompress(b"".join(idat), expected)
    except (zlib.error, OverflowError):
        return False
    return len(pixels) == expected


def _palette_is_colour(image) -> bool:
    palette = image.getpalette() or []
    triples = np.array(palette[: len(palette) // 3 * 3]).reshape(-1, 3)
    return bool(len(triples)) and not np.all(triples == triples[:, :1])


def _checked(image: DecodedImage) -> DecodedImage:
    height, width = image.pixels.shape[:2]
    if min(height, width) < LIMITS["min_image_side"]:
        raise InvalidInputError(
            f"'{image.name}' is {width}x{height} pixels; images need at least "
            f"{LIMITS['min_image_side']} pixels a side. Upload the original image."
        )
    return image


def as_image_list(inputs, names: list[str] | None = None) -> list[DecodedImage]:
    """Normalise the API's accepted inputs to a list of ``DecodedImage``.

    Accepted: an array (H, W) or (H, W, 3) (one image), (N, H, W) or (N, H, W, C) with C in {1, 3, 4},
    uint8 in [0, 255] or float in [0, 1] or [0, 255]; a PIL image; bytes of a PNG/JPEG/DICOM
    file; or a list of any of those.

    Raises:
        InvalidInputError: empty input, wrong type or shape, NaN/inf, or too many images.
    """
    if isinstance(inputs, np.ndarray):
        # (H, W, 3|4) is one colour image: a batch of images 3 or 4 pixels wide is refused anyway.
        single = inputs.ndim == 2 or (inputs.ndim == 3 and inputs.shape[-1] in (3, 4))
        items = [inputs] if single else list(_split_batch(inputs))
    elif isinstance(inputs, (list, tuple)):
        items = list(inputs)
    else:
        items = [inputs]
    if not items:
        raise InvalidInputError("No images were given. Pass at least one image.")
    if not isinstance(inputs, np.ndarray):
        check_count(items, "max_batch_files", "files")
    names = names or [f"image {i + 1}" for i in range(len(items))]
    return [_as_decoded(item, name) for item, name in zip(items, names)]


def _split_batch(array: np.ndarray):
    if array.ndim == 3:
        return array
    if array.ndim == 4 and array.shape[-1] in (1, 3, 4):
        return array
    raise InvalidInputError(
        f"Got an array of shape {array.shape}; expected (H, W) for one image, (N, H, W) for "
        "grayscale images or (N, H, W, C) with C = 1, 3 or 4 channels."
    )


def _as_decoded(item, name: str) -> DecodedImage:
    if isinstance(item, (bytes, bytearray, memoryview)):
        return decode_image(bytes(item), name)
    if isinstance(item, DecodedImage):
        return item
    try:
        from PIL import Image

        if isinstance(item, Image.Image):
            buffer = io.BytesIO()
            item.save(buffer, format="PNG")
            return decode_image(buffer.getvalue(), name)
    except ImportError:  # pragma: no cover - Pillow is a hard dependency
        pass
    if not isinstance(item, np.ndarray):
        raise InvalidInputError(
            f"{name}: got {type(item).__name__}; expected a NumPy array, a PIL image or the "
            "bytes of a PNG, JPEG or DICOM file."
        )
    return _checked(DecodedImage(name, _array_to_uint8(item, name), "array"))


def _array_to_uint8(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 3 and array.shape[-1] == 4:
        array = array[..., :3]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] == 3)):
        raise InvalidInputError(f"{name}: got an array of shape {array.shape}; expected (H, W) or (H, W, 3).")
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise InvalidInputError(f"{name}: got pixels of dtype {array.dtype}; expected uint8 or float.")
    values = array.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise InvalidInputError(f"{name}: the array holds NaN or infinite values; replace them before predicting.")
    if np.issubdtype(array.dtype, np.floating) and values.size and values.min() >= 0.0 and values.max() <= 1.0:
        values = values * 255.0
    if values.size and (values.min() < 0.0 or values.max() > 255.0):
        raise InvalidInputError(
            f"{name}: pixel values run from {values.min():g} to {values.max():g}; expected [0, 255] "
            "(or [0, 1] for floats). Window or rescale the image first."
        )
    return np.round(values).astype(np.uint8)


def framing_of(card: dict) -> dict:
    """``to_model_input``'s ``framing``, ``source`` and ``resample`` keywords from an image model's card
    (MedMNIST's centre crop and bicubic resize for cards that do not say)."""
    preprocessing = card.get("preprocessing", {})
    source = preprocessing.get("source")
    return {
        "framing": preprocessing.get("framing", "crop"),
        "source": tuple(source) if source else None,
        "resample": preprocessing.get("resample", "bicubic"),
    }


_RESAMPLE = {"lanczos": 1, "bilinear": 2, "bicubic": 3}  # PIL's Resampling values


def to_model_input(
    image: DecodedImage,
    side: int,
    channels: int,
    stats: dict | None = None,
    modalities: list[str] | None = None,
    framing: str = "crop",
    source: tuple[int, str] | None = None,
    resample: str = "bicubic",
) -> PreparedImage:
    """Frame as the training images were, resize to ``side`` and match ``channels``, with warnings.

    Args:
        image: a decoded image.
        side: the model's input side in pixels (28 for the MedMNIST models).
        channels: 1 (grayscale) or 3 (RGB).
        stats: the training images' intensity statistics from the model card
            (``mean_mean``, ``mean_std``, ``std_mean``, ``std_std``); used for warnings.
        modalities: DICOM modality codes the model was trained on (e.g. ``["CR", "DX"]``);
            a DICOM of another modality gets a warning.
        framing: "crop" (MedMNIST: the centre square) or "squash" (the whole frame resized to a
            square, aspect ratio not kept, as ``shared/data/chest_xray`` was made).
        source: with "squash", ``(side, resample)`` of the training files (e.g. ``(224, "lanczos")``):
            an upload is first made such a file, then resized like them to ``side``.
        resample: the last resize to ``side`` ("bicubic", or "bilinear" as BreastMNIST was made).

    Returns:
        A ``PreparedImage`` whose ``model_input`` is float32 (side, side, channels).
    """
    from PIL import Image

    pixels = image.pixels
    notes = list(image.warnings)
    if modalities and image.modality and image.modality.upper() not in modalities:
        notes.append(
            f"'{image.name}' is a DICOM of modality {image.modality}; this model was trained on "
            f"{'/'.join(modalities)} images. The result is likely meaningless."
        )
    is_colour = pixels.ndim == 3 and not _is_gray_rgb(pixels)
    if channels == 1 and pixels.ndim == 3:
        if is_colour:
            notes.append(
                f"'{image.name}' is a colour image but this model reads grayscale: it was converted. Check it is the right kind of image."
            )
        pixels = np.asarray(Image.fromarray(pixels).convert("L"))
    elif channels == 3 and pixels.ndim == 2:
        notes.append(
            f"'{image.name}' is grayscale but this model reads colour (RGB) images: the gray channel was copied to all three. Check it is the right kind of image."
        )
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    elif channels == 3 and not is_colour:
        notes.append(
            f"'{image.name}' has no colour although this model reads colour images. Check it is the right kind of image."
        )

    height, width = pixels.shape[:2]
    size = min(height, width)
    if size < side:
        notes.append(
            f"'{image.name}' is only {width}x{height} pixels, smaller than the model's {side}x{side} input: it was enlarged and detail may be missing."
        )
    if framing == "squash":
        top, left, size = 0, 0, 0
        square = Image.fromarray(pixels)
        if source and square.size != (source[0], source[0]):
            square = square.resize((source[0], source[0]), _RESAMPLE[source[1]])
    elif framing == "crop":  # offsets rounded as torchvision's CenterCrop (how BreastMNIST was cut)
        top, left = int(round((height - size) / 2)), int(round((width - size) / 2))
        unseen = 1.0 - size / max(height, width)
        if unseen > CROP_NOTICE_SHARE:  # one rule for every shape: any visible cut is said
            edges = "left and right" if width > height else "top and bottom"
            notes.append(
                f"'{image.name}' is {width}x{height}: only its central {size}x{size} square was used, as in the "
                f"training data; {unseen:.0%} of the image (its {edges} edges) was not seen."
            )
        square = Image.fromarray(pixels[top : top + size, left : left + size])
    else:
        raise ValueError(f"framing must be 'crop' or 'squash', not {framing!r}")
    resized = np.asarray(square.resize((side, side), _RESAMPLE[resample]), dtype=np.float32)
    if resized.ndim == 2:
        resized = resized[..., None]
    notes.extend(_intensity_warnings(image.name, resized, stats))
    return PreparedImage(image.name, image.pixels, resized, (top, left, size), notes, framing, image.pixel_spacing)


def _is_gray_rgb(pixels: np.ndarray) -> bool:
    return bool(np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 1], pixels[..., 2]))


def _intensity_warnings(name: str, resized: np.ndarray, stats: dict | None) -> list[str]:
    if not stats:
        return []
    mean, spread = float(resized.mean()), float(resized.std())
    notes = []
    z_mean = (mean - stats["mean_mean"]) / max(stats["mean_std"], 1e-6)
    if z_mean < -3:
        notes.append(
            f"'{name}' is much darker than the training images (mean {mean:.0f} vs {stats['mean_mean']:.0f}): the result may be unreliable."
        )
    elif z_mean > 3:
        notes.append(
            f"'{name}' is much brighter than the training images (mean {mean:.0f} vs {stats['mean_mean']:.0f}): the result may be unreliable."
        )
    if (spread - stats["std_mean"]) / max(stats["std_std"], 1e-6) < -3:
        notes.append(f"'{name}' has much less contrast than the training images: the result may be unreliable.")
    return notes
