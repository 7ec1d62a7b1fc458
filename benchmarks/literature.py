"""Print the literature model's development-set figures beside the published anchors, and its speed.

Not a test; nothing is asserted. Reproduce with:
    MEDCORE_DATA_DIR=../shared/data .venv/bin/python benchmarks/literature.py

Quality comes from the bundle's card: the selection run (trained on the BC5CDR training set,
measured on the development set, which chose its epochs and threshold; the CID figure's
threshold is cross-fitted over two halves of dev). The anchors are published figures on the
withheld official test set. Speed: load time, one abstract through ``extract`` and 100
abstracts through ``extract_many`` (development abstracts when MEDCORE_DATA_DIR is set, else the
page's examples).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from benchmarks.timing import median_ms  # noqa: E402


def _figure(metrics: dict, key: str) -> str:
    value, interval = metrics.get(key), metrics.get(f"{key}_ci95")
    return f"{value:.3f} ({interval[0]:.3f}-{interval[1]:.3f})" if interval else f"{value:.3f}"


def _texts() -> list[str]:
    from medcore.literature.data import DEV_FILE, EXAMPLES, read_pubtator

    data = os.environ.get("MEDCORE_DATA_DIR")
    if data and (Path(data) / DEV_FILE).is_file():
        return [d.text for d in read_pubtator(Path(data) / DEV_FILE)]
    return list(EXAMPLES.values())


def main() -> None:
    import medcore

    card = medcore.read_card("literature-extraction")
    v = card["metrics"]["validation"]
    print(
        f"n={v['n']} development abstracts ({v['n_chemical_mentions']} chemical, {v['n_disease_mentions']} disease "
        f"mentions, {v['n_cid_relations']} CID relations); 95 % bootstrap intervals over abstracts\n"
    )
    print("| measure | precision | recall | F1 |")
    print("|---|---|---|---|")
    for prefix, label in (
        ("strict_chemical", "chemical mentions, strict"),
        ("strict_disease", "disease mentions, strict"),
        ("relaxed_chemical", "chemical mentions, relaxed (overlap)"),
        ("relaxed_disease", "disease mentions, relaxed (overlap)"),
        ("concept_chemical", "chemical MeSH ids per abstract"),
        ("concept_disease", "disease MeSH ids per abstract"),
        ("cid", "CID relations, end to end"),
    ):
        print(f"| {label} | " + " | ".join(_figure(v, f"{prefix}_{m}") for m in ("precision", "recall", "f1")) + " |")
    print(f"| CID relations, annotated entities given | - | - | {_figure(v, 'cid_f1_gold_entities')} |")
    print("\nAnchors (published, official test set; aims of issue 15):")
    for key, value in card["anchors"].items():
        print(f"- {key}: {value}")
    domain = card["domain_check"]["validation"]
    print(
        f"\nLanguage check (threshold {card['domain_check']['threshold']:.2f}): refuses "
        f"{_figure(domain, 'genuine_rejected')} of {domain['n_genuine']} development abstracts, "
        f"{_figure(domain, 'negatives_caught')} of {domain['n_negatives']} scrambled abstracts"
        + (
            f", {_figure(domain, 'ade_sentences_rejected')} of {domain['n_ade_sentences']} single English case-report "
            "sentences"
            if "ade_sentences_rejected" in domain
            else ""
        )
    )
    started = time.perf_counter()
    model = medcore.load_model("literature-extraction")
    load_s = time.perf_counter() - started
    texts = _texts()
    batch = (texts * 100)[:100]
    one = median_ms(lambda: model.extract(texts[0]), 10)
    many = median_ms(lambda: model.extract_many(batch), 2)
    print("\n| load (s) | one abstract (ms) | 100 abstracts (ms) |")
    print("|---|---|---|")
    print(f"| {load_s:.1f} | {one:.0f} | {many:.0f} |")


if __name__ == "__main__":
    main()
