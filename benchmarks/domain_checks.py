"""Print how well each image model refuses what it was not built for (not a test; nothing is asserted).

Reproduce with:
    MEDCORE_DATA_DIR=../shared/data .venv/bin/python benchmarks/domain_checks.py

For every shipped image model, through ``model.analyse`` (the path pages, the CLI and the
service use, so the image-modality router and the feature distance act together):
- wrong inputs it should refuse: the other two MedMNIST sets (val split), and every negative
  family of ``medcore.imaging.negatives`` drawn with a seed no trainer used;
- genuine images it should read: its own val split enlarged to 224 px (and BUSI's 256 px
  originals for breast ultrasound).
Aims (issue 11): at least 95 % of wrong inputs caught, at most 3 % of genuine images refused.
Caveat: breast-ultrasound and retina-dr are cross-validated over train + val, so their val
images trained four of five members: their genuine figure is optimistic. The withheld test
splits are the honest check.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

FILES = {
    "pneumonia-cxr": "pneumoniamnist_trainval.npz",
    "breast-ultrasound": "breastmnist_trainval.npz",
    "retina-dr": "retinamnist_trainval.npz",
}
SEED = 20261130  # no trainer draws negatives with this seed


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _refused(model, images: list[np.ndarray]) -> float:
    results = model.analyse([(f"{i}.png", _png(image)) for i, image in enumerate(images)])
    return float(np.mean([r.out_of_domain for r in results]))


def main() -> None:
    from PIL import Image

    import medcore
    from medcore.imaging.data import load_medmnist_npz
    from medcore.imaging.negatives import HELD_OUT_FAMILIES, TRAIN_FAMILIES, negative_images

    data = Path(os.environ.get("MEDCORE_DATA_DIR", PROJECT.parent / "shared" / "data")) / "medmnist"
    negatives = negative_images(TRAIN_FAMILIES + HELD_OUT_FAMILIES, 60, SEED)
    val = {name: load_medmnist_npz(data / file, "val")[0] for name, file in FILES.items()}
    print(f"{'model':<18} {'input':<36} {'refused':>8} {'n':>5}")
    for name in FILES:
        model = medcore.load_model(name)
        wrong, right = [], []
        for other, images in val.items():
            if other != name:
                rate = _refused(model, list(images[:150]))
                wrong.append((rate, min(150, len(images))))
                print(f"{name:<18} {other + ' (wrong kind)':<36} {rate:>8.1%} {min(150, len(images)):>5}")
        for family, images in negatives.items():
            rate = _refused(model, images)
            wrong.append((rate, len(images)))
            held = " (held-out family)" if family in HELD_OUT_FAMILIES else ""
            print(f"{name:<18} {(family + held)[:36]:<36} {rate:>8.1%} {len(images):>5}")
        enlarged = [np.asarray(Image.fromarray(i).resize((224, 224), Image.Resampling.BICUBIC)) for i in val[name]]
        rate = _refused(model, enlarged)
        right.append((rate, len(enlarged)))
        print(f"{name:<18} {'own val, enlarged to 224 px':<36} {rate:>8.1%} {len(enlarged):>5}")
        busi = data.parent / "busi_segmentation" / "busi_seg_trainval.npz"
        if name == "breast-ultrasound" and busi.is_file():
            with np.load(busi, allow_pickle=False) as archive:
                originals = list(archive["images"][archive["breastmnist_split"] == "val"])
            rate = _refused(model, originals)
            right.append((rate, len(originals)))
            print(f"{name:<18} {'BUSI 256 px originals (val)':<36} {rate:>8.1%} {len(originals):>5}")
        caught = sum(r * n for r, n in wrong) / sum(n for _, n in wrong)
        refused = sum(r * n for r, n in right) / sum(n for _, n in right)
        print(f"{name:<18} {'=> wrong inputs caught':<36} {caught:>8.1%} {sum(n for _, n in wrong):>5}")
        print(f"{name:<18} {'=> genuine images refused':<36} {refused:>8.1%} {sum(n for _, n in right):>5}\n")


if __name__ == "__main__":
    main()
