"""Images that are none of the models' kinds: made in code or bundled with installed packages (no download).

The domain checks are fitted and measured on them. Families are split in two: ``TRAIN_FAMILIES``
may be used to fit a check, ``HELD_OUT_FAMILIES`` never are, so their catch rate is the honest
figure for kinds of input a check has never seen. Every image is uint8 (H, W) or (H, W, 3).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["TRAIN_FAMILIES", "HELD_OUT_FAMILIES", "negative_images"]

TRAIN_FAMILIES = (
    "uniform noise",
    "gaussian noise",
    "flat",
    "linear gradient",
    "checkerboard",
    "photograph (china.jpg crops)",
    "CT slice (pydicom)",
    "colour test pattern (pydicom)",
)
HELD_OUT_FAMILIES = (
    "blurred noise",
    "radial gradient",
    "photograph (flower.jpg crops)",
    "MR slice (pydicom)",
    "random shapes",
)


def _size(rng: np.random.Generator) -> tuple[int, int]:
    side = int(rng.choice([28, 64, 128, 256, 512]))
    return side, int(side * rng.uniform(0.75, 1.33))


def _colour(rng: np.random.Generator, gray: np.ndarray) -> np.ndarray:
    """Half of the images in RGB with a random tint, so colour alone never marks a kind."""
    if rng.random() < 0.5:
        return gray
    tint = rng.uniform(0.4, 1.0, 3)
    return np.clip(gray[..., None] * tint, 0, 255).astype(np.uint8)


def _uniform_noise(rng):
    h, w = _size(rng)
    return rng.integers(0, 256, (h, w, 3) if rng.random() < 0.5 else (h, w), dtype=np.uint8)


def _gaussian_noise(rng):
    h, w = _size(rng)
    return _colour(rng, np.clip(rng.normal(rng.uniform(40, 200), rng.uniform(10, 60), (h, w)), 0, 255).astype(np.uint8))


def _flat(rng):
    h, w = _size(rng)
    return _colour(rng, np.full((h, w), int(rng.integers(0, 256)), np.uint8))


def _linear_gradient(rng):
    h, w = _size(rng)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w]
    ramp = np.cos(angle) * xx / w + np.sin(angle) * yy / h
    ramp = (ramp - ramp.min()) / max(np.ptp(ramp), 1e-9)
    return _colour(rng, (ramp * 255).astype(np.uint8))


def _checkerboard(rng):
    h, w = _size(rng)
    cell = int(rng.integers(2, max(3, h // 4)))
    yy, xx = np.mgrid[0:h, 0:w]
    low, high = sorted(rng.integers(0, 256, 2))
    return _colour(rng, np.where(((yy // cell) + (xx // cell)) % 2 == 0, low, high).astype(np.uint8))


def _blurred_noise(rng):
    from PIL import Image, ImageFilter

    h, w = _size(rng)
    noise = Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8))
    return _colour(rng, np.asarray(noise.filter(ImageFilter.GaussianBlur(rng.uniform(1, 6)))))


def _radial_gradient(rng):
    h, w = _size(rng)
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    radius = np.hypot(yy - cy, xx - cx)
    ramp = radius / max(radius.max(), 1e-9)
    ramp = 1 - ramp if rng.random() < 0.5 else ramp
    return _colour(rng, (ramp * 255).astype(np.uint8))


def _random_shapes(rng):
    from PIL import Image, ImageDraw

    h, w = _size(rng)
    image = Image.new("RGB", (w, h), tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 12))):
        x0, x1 = sorted(rng.uniform(0, w, 2))
        y0, y1 = sorted(rng.uniform(0, h, 2))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x1 + 1, y1 + 1], fill=fill)
    pixels = np.asarray(image)
    return pixels if rng.random() < 0.5 else np.asarray(image.convert("L"))


def _photo_crops(file_name: str) -> Callable[[np.random.Generator], np.ndarray]:
    def make(rng):
        from PIL import Image
        from sklearn.datasets import load_sample_image

        photo = load_sample_image(file_name)  # 427 x 640 RGB, inside scikit-learn's wheel
        h, w = photo.shape[:2]
        size = int(rng.integers(60, min(h, w)))
        top, left = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
        crop = photo[top : top + size, left : left + size]
        out = int(rng.choice([64, 128, 256]))
        image = Image.fromarray(crop).resize((out, out), Image.Resampling.BILINEAR)
        return np.asarray(image if rng.random() < 0.7 else image.convert("L"))

    return make


def _pydicom_frames(names: tuple[str, ...]) -> Callable[[np.random.Generator], np.ndarray]:
    cache: list[np.ndarray] = []

    def make(rng):
        if not cache:
            from pydicom.data import get_testdata_file

            from medcore.imaging.decode import decode_image

            for name in names:
                try:
                    cache.append(decode_image(Path(get_testdata_file(name)).read_bytes(), name).pixels)
                except Exception:  # noqa: BLE001 - a file this pydicom cannot decode is simply not used
                    continue
        pixels = cache[int(rng.integers(0, len(cache)))]
        # Random crops and flips, so one file gives many different inputs.
        h, w = pixels.shape[:2]
        size = int(rng.integers(max(8, min(h, w) // 2), min(h, w) + 1))
        top, left = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
        crop = pixels[top : top + size, left : left + size]
        return np.ascontiguousarray(crop[:, ::-1] if rng.random() < 0.5 else crop)

    return make


_MAKERS: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "uniform noise": _uniform_noise,
    "gaussian noise": _gaussian_noise,
    "flat": _flat,
    "linear gradient": _linear_gradient,
    "checkerboard": _checkerboard,
    "photograph (china.jpg crops)": _photo_crops("china.jpg"),
    "CT slice (pydicom)": _pydicom_frames(("CT_small.dcm", "liver_1frame.dcm")),
    "colour test pattern (pydicom)": _pydicom_frames(
        ("SC_rgb_rle.dcm", "SC_rgb_small_odd.dcm", "examples_rgb_color.dcm")
    ),
    "blurred noise": _blurred_noise,
    "radial gradient": _radial_gradient,
    "photograph (flower.jpg crops)": _photo_crops("flower.jpg"),
    "MR slice (pydicom)": _pydicom_frames(("MR_small.dcm", "MR_small_RLE.dcm", "MR_small_padded.dcm")),
    "random shapes": _random_shapes,
}


def negative_images(families: tuple[str, ...], per_family: int, seed: int = 0) -> dict[str, list[np.ndarray]]:
    """``per_family`` seeded images of each named family.

    Args:
        families: names from ``TRAIN_FAMILIES`` and/or ``HELD_OUT_FAMILIES``.
        per_family: images per family.
        seed: seed; each family gets its own stream, so adding a family changes no other.

    Returns:
        ``{family: [uint8 image, ...]}``.

    Raises:
        KeyError: an unknown family (the message lists the known ones).
    """
    unknown = [f for f in families if f not in _MAKERS]
    if unknown:
        raise KeyError(f"unknown negative families {unknown}; known: {list(_MAKERS)}")
    images = {}
    for index, family in enumerate(_MAKERS):
        if family in families:
            rng = np.random.default_rng([seed, index])
            images[family] = [_MAKERS[family](rng) for _ in range(per_family)]
    return images
