"""DICOM decoding: windowing, MONOCHROME1, multi-frame, missing or compressed pixel data."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from medcore.core.errors import InvalidInputError
from medcore.imaging.decode import decode_image
from medcore.imaging.dicom import read_dicom


def _dicom_bytes(pixels: np.ndarray | None, **attributes) -> bytes:
    """A minimal uncompressed DICOM built in code."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = FileDataset("test.dcm", {}, file_meta=meta, preamble=b"\x00" * 128)
    dataset.SOPClassUID = SecondaryCaptureImageStorage
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.Modality = attributes.pop("Modality", "DX")
    if pixels is not None:
        frames = pixels.shape[0] if pixels.ndim == 3 else 1
        dataset.Rows, dataset.Columns = pixels.shape[-2:]
        dataset.SamplesPerPixel = 1
        dataset.PhotometricInterpretation = "MONOCHROME2"
        dataset.BitsAllocated = dataset.BitsStored = 16
        dataset.HighBit = 15
        dataset.PixelRepresentation = 0
        if frames > 1:
            dataset.NumberOfFrames = frames
        dataset.PixelData = pixels.astype(np.uint16).tobytes()
    for key, value in attributes.items():
        setattr(dataset, key, value)
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_ct_small_decodes_to_uint8(ct_small):
    image, notes, modality = read_dicom(ct_small, "CT_small.dcm")
    assert image.shape == (128, 128) and image.dtype == np.uint8
    assert image.min() == 0 and image.max() == 255
    assert modality == "CT"


def test_decode_image_detects_dicom_by_its_magic(ct_small):
    assert decode_image(ct_small, "no_extension").source == "DICOM"


def test_monochrome1_is_inverted():
    ramp = np.tile(np.arange(0, 64, dtype=np.uint16) * 10, (16, 1))
    normal, _, _ = read_dicom(_dicom_bytes(ramp), "m2.dcm")
    inverted, _, _ = read_dicom(_dicom_bytes(ramp, PhotometricInterpretation="MONOCHROME1"), "m1.dcm")
    np.testing.assert_array_equal(inverted, 255 - normal)


def test_rescale_and_window_are_applied():
    pixels = np.tile(np.arange(0, 100, dtype=np.uint16), (16, 1))
    # rescale -> 0..198; window 50 +- 25 saturates everything below 25 and above 75
    image, _, _ = read_dicom(
        _dicom_bytes(pixels, RescaleSlope=2, RescaleIntercept=0, WindowCenter=50, WindowWidth=50), "w.dcm"
    )
    assert image[0, 0] == 0 and image[0, 10] == 0  # value 20 is below the window
    assert image[0, 60] == 255  # value 120 is above it
    assert 0 < image[0, 25] < 255  # value 50 is inside


def test_multiframe_takes_the_middle_frame():
    frames = np.stack([np.full((16, 16), value, dtype=np.uint16) for value in (0, 0, 0, 0, 0)])
    frames[2, :8] = 500  # only the middle frame has structure
    image, notes, _ = read_dicom(_dicom_bytes(frames), "cine.dcm")
    assert image[0, 0] == 255 and image[15, 0] == 0
    assert any("middle frame (3)" in note for note in notes)


def test_dicom_without_pixel_data_is_refused():
    with pytest.raises(InvalidInputError, match="without pixel data"):
        read_dicom(_dicom_bytes(None), "report.dcm")


def test_truncated_dicom_is_refused():
    from pydicom.data import get_testdata_file

    data = Path(get_testdata_file("MR_truncated.dcm")).read_bytes()
    with pytest.raises(InvalidInputError, match="MR_truncated.dcm"):
        decode_image(data, "MR_truncated.dcm")


def test_compressed_syntax_without_decoder_gets_a_clear_message():
    from pydicom.data import get_testdata_file

    data = Path(get_testdata_file("JPEG-lossy.dcm")).read_bytes()
    try:
        image, _, _ = read_dicom(data, "JPEG-lossy.dcm")
    except InvalidInputError as err:
        assert "JPEG Extended" in str(err) and "uncompressed" in str(err)
    else:  # a decoder is installed on this machine: then it must decode to an image
        assert image.ndim == 2 and image.dtype == np.uint8


def test_modality_mismatch_is_warned():
    from medcore.imaging.decode import to_model_input

    decoded = decode_image(_dicom_bytes(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64), Modality="MR"), "mr.dcm")
    prepared = to_model_input(decoded, 28, 1, modalities=["CR", "DX"])
    assert any("modality MR" in note for note in prepared.warnings)


def test_the_pixel_spacing_a_dicom_states_reaches_the_prepared_image():
    """Issue 28 item 13: sizes in mm need the spacing; a missing or absurd one gives None, not a guess."""
    from pydicom.dataset import Dataset

    from medcore.imaging.decode import to_model_input

    ramp = np.tile(np.arange(64, dtype=np.uint16) * 50, (48, 1))
    decoded = decode_image(_dicom_bytes(ramp, PixelSpacing=[0.2, 0.25]), "spaced.dcm")
    assert decoded.pixel_spacing == (0.2, 0.25)
    assert to_model_input(decoded, 28, 1).pixel_spacing == (0.2, 0.25)
    assert decode_image(_dicom_bytes(ramp, ImagerPixelSpacing=[0.14, 0.14]), "dx.dcm").pixel_spacing == (0.14, 0.14)
    region = Dataset()
    region.PhysicalUnitsXDirection = region.PhysicalUnitsYDirection = 3  # cm
    region.PhysicalDeltaX = region.PhysicalDeltaY = 0.008
    ultrasound = decode_image(_dicom_bytes(ramp, Modality="US", SequenceOfUltrasoundRegions=[region]), "us.dcm")
    assert ultrasound.pixel_spacing == pytest.approx((0.08, 0.08))
    assert decode_image(_dicom_bytes(ramp), "none.dcm").pixel_spacing is None
    assert decode_image(_dicom_bytes(ramp, PixelSpacing=[0, 0.2]), "zero.dcm").pixel_spacing is None
