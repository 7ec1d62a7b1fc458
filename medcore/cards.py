"""Words and tables the pages share, built from model cards (no streamlit here)."""

from __future__ import annotations

__all__ = ["NOTICE", "TEXT_EXAMPLES", "models_table", "headline_metric"]

NOTICE = (
    "Decision support, not a diagnosis. These models assist a qualified clinician, who reviews "
    "every result; they are not medical devices and have not been clinically validated."
)


def headline_metric(card: dict) -> str:
    """The card's headline validation metric as text, e.g. 'AUC 0.981 (val, n=524)'."""
    metrics = card.get("metrics", {}).get("validation", {})
    for key, label in (("auc", "AUC"), ("accuracy", "accuracy"), ("ndcg@10", "NDCG@10")):
        if key in metrics:
            return f"{label} {metrics[key]:.3f} (val, n={metrics.get('n', '?')})"
    return "-"


def models_table(cards: list[dict]):
    """One row per model: name, task, headline metric, intended use (pandas DataFrame)."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "model": c["name"],
                "task": c["task"],
                "headline metric": headline_metric(c),
                "intended use": c["intended_use"],
                "version": c["version"],
            }
            for c in cards
        ]
    )


# Example inputs for the free-text page, written for this project (not taken from the data).
TEXT_EXAMPLES: dict[str, dict[str, str]] = {
    "symptom-text": {
        "Itchy rash": "For two weeks I have had an itchy red rash on my arms with dry, scaly patches that peel.",
        "Fever and chills": "I keep getting high fever with shivering and sweating every other day, and a bad headache.",
        "Burning urine": "It burns when I pee, I need to go all the time and my lower belly hurts.",
    },
    "abstract-topic": {
        "Oncology": "We studied adjuvant chemotherapy after resection of stage III colon carcinoma in 212 patients; "
        "tumour recurrence and overall survival were compared between regimens.",
        "Cardiology": "Patients with acute myocardial infarction received early coronary angioplasty; left "
        "ventricular ejection fraction and reinfarction rates were followed for one year.",
        "Neurology": "We describe seizure frequency and cognitive outcome in children with temporal lobe "
        "epilepsy treated with a new anticonvulsant.",
    },
}
