"""Print breast-lesion-segmentation's validation figures beside the published anchors, and its speed.

Not a test; nothing is asserted. Reproduce with:
    .venv/bin/python benchmarks/segmentation.py

Quality comes from the bundle's card: BreastMNIST's 78 val images of BUSI, which also chose the
epoch, threshold, test-time flip, blob size and presence cut-off (optimistic). The aims of issue 17 are on the 156
withheld images: Dice >= 0.80 on images with a lesion, <= 1 % false area on normal images.
Speed: load time, one 256 px frame through segment + measure, 100 frames.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from benchmarks.timing import median_ms  # noqa: E402


def _figure(metrics: dict, key: str) -> str:
    value, interval = metrics[key], metrics[f"{key}_ci95"]
    return f"{value:.3f} ({interval[0]:.3f}-{interval[1]:.3f})"


def main() -> None:
    import medcore

    card = medcore.read_card("breast-lesion-segmentation")
    v = card["metrics"]["validation"]
    print(f"{card['training']['chosen_on']}; trained in {card['training']['wall_time_s'] / 60:.1f} min\n")
    print("| measure | value (95 % CI) | n |")
    print("|---|---|---|")
    print(f"| Dice, images with a lesion | {_figure(v, 'dice')} | {v['n_lesion_images']} |")
    print(f"| IoU, images with a lesion | {_figure(v, 'iou')} | {v['n_lesion_images']} |")
    print(f"| share of a normal image marked as lesion | {_figure(v, 'normal_false_area')} | {v['n_normal_images']} |")
    print(f"| normal images left empty | {_figure(v, 'normal_left_empty')} | {v['n_normal_images']} |")
    for label, row in v["subgroups"]["class"].items():
        print(f"| Dice, {label} | {_figure(row, 'dice')} | {row['n']} |")
    domain = card["domain_check"]["validation"]
    print(
        f"\nDomain check: refuses {_figure(domain, 'genuine_rejected')} of {domain['n_genuine']} val frames, "
        f"{_figure(domain, 'negatives_caught')} of {domain['n_negatives']} wrong inputs ({domain['negatives']})"
    )
    print(f"Anchors: {card['anchors']}")
    started = time.perf_counter()
    model = medcore.load_model("breast-lesion-segmentation")
    load_s = time.perf_counter() - started
    rng = np.random.default_rng(0)
    frame = rng.gamma(4.0, 30.0, (256, 256)).clip(0, 255).astype(np.uint8)
    one = median_ms(lambda: model.measure(model.segment(frame)), 10)
    many = median_ms(lambda: [model.segment(frame) for _ in range(100)], 2)
    print("\n| load (s) | one frame: segment + measure (ms) | 100 frames (ms) |")
    print("|---|---|---|")
    print(f"| {load_s:.1f} | {one:.0f} | {many:.0f} |")


if __name__ == "__main__":
    main()
