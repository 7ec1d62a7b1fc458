"""Decoding and preprocessing of uploaded images, and the messages for bad files."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from medcore.core.errors import InvalidInputError
from medcore.imaging.decode import as_image_list, decode_image, to_model_input
from tests.conftest import jpeg_bytes, png_bytes


def test_png_8bit_grayscale_round_trips(rng):
    pixels = rng.integers(0, 256, (40, 30), dtype=np.uint8)
    decoded = decode_image(png_bytes(pixels), "scan.png")
    assert decoded.source == "PNG"
    np.testing.assert_array_equal(decoded.pixels, pixels)


def test_png_16bit_is_scaled_to_full_8bit_range():
    pixels = np.linspace(1000, 3000, 32 * 32).reshape(32, 32).astype(np.uint16)
    decoded = decode_image(png_bytes(pixels), "xray16.png")
    assert decoded.pixels.dtype == np.uint8
    assert decoded.pixels.min() == 0 and decoded.pixels.max() == 255
    assert any("16-bit" in note for note in decoded.warnings)


def test_jpeg_rgb_decodes_to_three_channels(rng):
    pixels = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    decoded = decode_image(jpeg_bytes(pixels), "fundus.jpg")
    assert decoded.pixels.shape == (24, 24, 3) and decoded.source == "JPEG"


def test_rgba_is_composited_on_black():
    pixels = np.zeros((16, 16, 4), dtype=np.uint8)
    pixels[..., 0] = 200
    pixels[:8, :, 3] = 255  # top half opaque red, bottom half transparent
    decoded = decode_image(png_bytes(pixels), "alpha.png")
    assert decoded.pixels.shape == (16, 16, 3)
    assert decoded.pixels[0, 0, 0] == 200 and decoded.pixels[15, 0, 0] == 0


@pytest.mark.parametrize(
    "data, match",
    [
        (b"", "empty"),
        (b"patient notes, not an image\n" * 5, "text file"),
        (b"GIF89a" + b"\x00" * 50, "GIF"),
        (b"II*\x00" + b"\x00" * 50, "TIFF"),
        (b"%PDF-1.4 binary", "PDF"),
    ],
)
def test_wrong_or_empty_files_are_refused_with_the_file_name(data, match):
    with pytest.raises(InvalidInputError, match=match) as info:
        decode_image(data, "upload.png")
    assert "upload.png" in str(info.value)


def test_truncated_png_is_refused(rng):
    data = png_bytes(rng.integers(0, 256, (64, 64), dtype=np.uint8))
    with pytest.raises(InvalidInputError, match="truncated or corrupt"):
        decode_image(data[: len(data) // 2], "cut.png")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _png_rows(pixels: np.ndarray, rows: int | None = None, interlaced: bool = False, after: bytes = b"") -> bytes:
    """An 8-bit greyscale (H, W) or RGB (H, W, 3) PNG of ``pixels`` whose data stop after ``rows``
    filtered rows (all: None); ``after`` is put between the IDAT and IEND chunks."""
    from medcore.imaging.decode import _ADAM7

    height, width = pixels.shape[:2]
    passes = _ADAM7 if interlaced else ((0, 0, 1, 1),)
    lines = [b"\x00" + row.tobytes() for x0, y0, dx, dy in passes for row in pixels[y0::dy, x0::dx] if row.size]
    colour = 2 if pixels.ndim == 3 else 0
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, int(interlaced))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(lines[:rows])))
        + after
        + _chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("interlaced", [False, True])
@pytest.mark.parametrize("shape", [(20, 13), (9, 11, 3)])
def test_a_png_whose_data_stop_at_a_row_boundary_is_refused_not_padded_with_black(rng, interlaced, shape):
    """Pillow decodes such a file without complaint and leaves the missing rows black (found by the
    fuzz test: a 15 x 8 header over 64 bytes of rows). Grey and RGB, plain and Adam7."""
    pixels = rng.integers(1, 256, shape, dtype=np.uint8)
    np.testing.assert_array_equal(decode_image(_png_rows(pixels, interlaced=interlaced), "whole.png").pixels, pixels)
    with pytest.raises(InvalidInputError, match="'cut.png' looks like a PNG but could not be decoded: it is truncated"):
        decode_image(_png_rows(pixels, rows=-1, interlaced=interlaced), "cut.png")


def test_every_small_interlaced_png_is_whole_and_a_one_bit_png_one_row_short_is_not(rng):
    """Adam7 passes that hold no pixel carry no bytes; rows of under a byte per pixel are rounded up."""
    from medcore.imaging.decode import _png_pixels_complete

    for height in range(1, 10):
        for width in range(1, 10):
            assert _png_pixels_complete(_png_rows(rng.integers(0, 256, (height, width), dtype=np.uint8), None, True))
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 2, (8, 9)).astype(bool)).save(buffer, "PNG")  # 1 bit: 2 bytes a row
    whole = buffer.getvalue()
    start = whole.index(b"IDAT") - 4
    length = struct.unpack(">I", whole[start : start + 4])[0]
    rows = zlib.decompress(whole[start + 8 : start + 8 + length])
    assert len(rows) == 8 * 3
    short = whole[:start] + _chunk(b"IDAT", zlib.compress(rows[:-3])) + whole[start + 12 + length :]
    assert _png_pixels_complete(whole) and not _png_pixels_complete(short)


def test_only_the_first_png_header_counts_as_pillow_reads_it(rng):
    """A second IHDR after the pixel data must not decide how many rows are due: a cut file stays
    refused whatever it declares later, and a huge later header neither crashes nor is believed."""
    pixels = rng.integers(1, 256, (20, 13), dtype=np.uint8)
    smaller = _chunk(b"IHDR", struct.pack(">IIBBBBB", 13, 12, 8, 0, 0, 0, 0))
    with pytest.raises(InvalidInputError, match="truncated or corrupt"):
        decode_image(_png_rows(pixels, rows=12, after=smaller), "cut.png")
    huge = _chunk(b"IHDR", struct.pack(">IIBBBBB", 2**31 - 1, 2**31 - 1, 16, 6, 0, 0, 0))
    np.testing.assert_array_equal(decode_image(_png_rows(pixels, after=huge), "late.png").pixels, pixels)


def test_truncated_jpeg_is_refused(rng):
    data = jpeg_bytes(rng.integers(0, 256, (64, 64), dtype=np.uint8))
    with pytest.raises(InvalidInputError, match="truncated or corrupt"):
        decode_image(data[:200], "cut.jpg")


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares huge dimensions (a decompression bomb's shape)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(InvalidInputError, match="decompression bomb"):
        decode_image(_png_declaring(50_000, 50_000), "bomb.png")


def test_animated_png_is_refused(rng):
    frames = [Image.fromarray(rng.integers(0, 256, (20, 20), dtype=np.uint8)) for _ in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(InvalidInputError, match="animated"):
        decode_image(buffer.getvalue(), "cine.png")


def test_too_small_image_is_refused():
    with pytest.raises(InvalidInputError, match="at least"):
        decode_image(png_bytes(np.zeros((4, 4), dtype=np.uint8)), "dot.png")


def test_colour_into_grayscale_model_is_converted_and_warned(rng):
    decoded = decode_image(png_bytes(rng.integers(0, 256, (50, 50, 3), dtype=np.uint8)), "photo.png")
    prepared = to_model_input(decoded, side=28, channels=1)
    assert prepared.model_input.shape == (28, 28, 1)
    assert any("colour image" in note for note in prepared.warnings)


def test_grayscale_into_rgb_model_is_copied_and_warned(rng):
    decoded = decode_image(png_bytes(rng.integers(0, 256, (50, 50), dtype=np.uint8)), "gray.png")
    prepared = to_model_input(decoded, side=28, channels=3)
    assert prepared.model_input.shape == (28, 28, 3)
    assert any("grayscale" in note for note in prepared.warnings)


def test_wide_image_is_centre_cropped_and_small_image_warned(rng):
    pixels = rng.integers(0, 256, (12, 40), dtype=np.uint8)
    prepared = to_model_input(decode_image(png_bytes(pixels), "strip.png"), side=28, channels=1)
    assert prepared.crop == (0, 14, 12)
    text = " ".join(prepared.warnings)
    assert "central 12x12" in text and "smaller than" in text


def test_intensity_far_from_training_is_warned():
    stats = {"mean_mean": 120.0, "mean_std": 10.0, "std_mean": 50.0, "std_std": 8.0}
    dark = decode_image(png_bytes(np.full((32, 32), 3, dtype=np.uint8)), "dark.png")
    notes = to_model_input(dark, 28, 1, stats).warnings
    assert any("darker" in note for note in notes) and any("contrast" in note for note in notes)


def test_arrays_are_accepted_in_the_documented_shapes(rng):
    assert len(as_image_list(rng.integers(0, 256, (5, 28, 28), dtype=np.uint8))) == 5
    assert len(as_image_list(rng.integers(0, 256, (3, 28, 28, 3), dtype=np.uint8))) == 3
    assert len(as_image_list(rng.integers(0, 256, (28, 28, 3), dtype=np.uint8))) == 1  # one colour image
    one = as_image_list(rng.random((30, 30)))  # float in [0, 1] -> scaled to [0, 255]
    assert len(one) == 1 and one[0].pixels.max() > 200


@pytest.mark.parametrize(
    "array, match",
    [
        (np.full((2, 28, 28), np.nan), "NaN"),
        (np.full((2, 28, 28), 1000.0), "expected \\[0, 255\\]"),
        (np.zeros((2, 28, 28, 7)), "shape"),
        (np.zeros((2, 3, 28, 28, 1)), "shape"),
        (np.zeros((2, 28, 28), dtype=complex), "dtype"),
    ],
)
def test_bad_arrays_raise_invalid_input(array, match):
    with pytest.raises(InvalidInputError, match=match):
        as_image_list(array)


def test_wrong_python_types_and_empty_lists_raise_invalid_input():
    with pytest.raises(InvalidInputError, match="No images"):
        as_image_list([])
    with pytest.raises(InvalidInputError, match="expected a NumPy array"):
        as_image_list(["not an image"])


@pytest.mark.parametrize("width", [1100, 1300, 1600, 2400])
def test_every_visibly_cropped_landscape_image_gets_the_same_notice(width):
    """Issue 28 item 14: the centre-crop notice was given for 1.5:1 and wider, silent for 1.3:1."""
    pixels = np.full((1000, width), 128, np.uint8)
    prepared = to_model_input(decode_image(png_bytes(pixels), "wide.png"), side=28, channels=1)
    notes = [note for note in prepared.warnings if "central 1000x1000" in note]
    assert len(notes) == 1 and f"{1 - 1000 / width:.0%} of the image" in notes[0] and "left and right" in notes[0]
    square = to_model_input(decode_image(png_bytes(np.full((1000, 1005), 128, np.uint8)), "sq.png"), 28, 1)
    assert not any("central" in note for note in square.warnings)  # half a per cent cut is not worth a notice
