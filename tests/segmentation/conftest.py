"""Synthetic ultrasound-like frames (speckle with dark round lesions) and a U-Net trained on them for seconds."""

from __future__ import annotations

import numpy as np
import pytest


def disc(side: int, cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:side, :side]
    return ((yy - cy) ** 2 + (xx - cx) ** 2 <= r**2).astype(np.uint8)


def synthetic_frames(n: int = 80, side: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images uint8, masks 0/1, labels): bright speckle, a dark disc in three of four frames."""
    rng = np.random.default_rng(seed)
    images, masks, labels = [], [], []
    for i in range(n):
        frame = rng.gamma(4.0, 30.0, (side, side)).clip(0, 255)
        mask = np.zeros((side, side), np.uint8)
        if i % 4:
            mask = disc(side, rng.uniform(35, 90), rng.uniform(35, 90), rng.uniform(10, 25))
            frame = np.where(mask > 0, frame * 0.25, frame)
        frame[:, :6] = 0  # the dark edge of a B-mode sector
        images.append(frame.astype(np.uint8))
        masks.append(mask)
        labels.append("benign" if i % 4 else "normal")
    return np.stack(images), np.stack(masks), np.array(labels)


@pytest.fixture(scope="session")
def tiny_segmentation_bundle(tmp_path_factory):
    from medcore.segmentation.train import train_segmentation_model

    folder = tmp_path_factory.mktemp("segmentation-data") / "busi_segmentation"
    folder.mkdir()
    images, masks, labels = synthetic_frames()
    split = np.array(["train"] * 64 + ["val"] * 16)
    np.savez(folder / "busi_seg_trainval.npz", images=images, masks=masks, labels=labels, breastmnist_split=split)
    out = tmp_path_factory.mktemp("segmentation-model") / "breast-lesion-segmentation"
    return train_segmentation_model("breast-lesion-segmentation", folder.parent, epochs=6, seed=0, out_dir=out)


@pytest.fixture(scope="session")
def tiny_segmentation_model(tiny_segmentation_bundle):
    from medcore.core.registry import verify_bundle
    from medcore.segmentation.model import load_segmentation_model

    return load_segmentation_model(tiny_segmentation_bundle, verify_bundle(tiny_segmentation_bundle))
