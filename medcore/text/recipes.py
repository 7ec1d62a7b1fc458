"""What each text model is: its data set, card text and training settings (one ``TextRecipe`` each)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TextRecipe", "TEXT_RECIPES", "NEAR_DUPLICATE", "VALIDATION_FRACTION"]

NEAR_DUPLICATE = 0.8  # word-set Jaccard at or above which two texts are one group
VALIDATION_FRACTION = 0.2


@dataclass(frozen=True)
class TextRecipe:
    """How one text model is built, trained and described."""

    task: str
    folder: str
    data_files: tuple[str, ...]
    dataset: str
    licence: str
    description: str
    intended_use: str
    out_of_scope_use: str
    limitations: tuple[str, ...]
    sequence_length: int
    balanced: bool = False
    inverse_regularisation: float = 10.0  # scikit-learn's C, for the wide part and the baseline
    word_tokens: int = 30000
    char_tokens: int = 50000
    wide_epochs: int = 30
    encoder_epochs: int = 8
    encoder_dim: int = 32
    batch_size: int = 64
    max_chars: int = 5000
    # k > 1: grouped k-fold cross-validation over the whole file chooses (network or ensemble),
    # calibrates and scores the model on out-of-fold predictions; the shipped model is then
    # trained on every row, its encoder for the folds' median best epoch. 0: one 80/20 split.
    folds: int = 0


_COMMON_LIMITS = (
    "Held-out data come from the same small source as the training data and also chose and calibrated "
    "the model: expect lower figures on new text; see the intervals.",
    "English only; spelling mistakes are tolerated through character n-grams, other languages are refused.",
    "Long text is cut to the first 5,000 characters; the page says so when it happens.",
)

TEXT_RECIPES: dict[str, TextRecipe] = {
    "symptom-text": TextRecipe(
        task="Patient's own description of symptoms -> disease (24 classes)",
        folder="symptom2disease",
        data_files=("symptom2disease_train.csv", "Symptom2Disease.csv", "symptom2disease.csv"),
        dataset="Symptom2Disease (Kaggle, niyarrbarman), 80 % training part",
        licence="not stated by the source (Kaggle); unknown until confirmed, check before redistributing",
        description="Wide-and-deep text classifier (TF-IDF word and character n-grams plus a small Transformer "
        "encoder), calibrated, that ranks 24 diseases from a patient's own description of their symptoms.",
        intended_use="Decision support when a clinician reads a patient's own words (an intake form, a message): "
        "suggests diseases to consider, with the words behind the suggestion.",
        out_of_scope_use="Diagnosis without a clinician; diseases outside the 24 classes (the model always "
        "answers with one of them); clinical notes in medical jargon; languages other than English; children.",
        limitations=_COMMON_LIMITS
        + (
            "Only 24 diseases, 40 short descriptions each, many of them close paraphrases of one another: the "
            "model has seen a narrow way of describing each disease.",
            "The descriptions are synthetic-sounding first-person texts, not real patients' messages.",
        ),
        sequence_length=64,
        wide_epochs=30,
        encoder_epochs=10,
        folds=5,
    ),
    "abstract-topic": TextRecipe(
        task="Clinical text (medical abstract) -> condition class (5 classes)",
        folder="medical_abstracts",
        data_files=("medical_abstracts_train.csv", "medical_tc_train.csv", "medical_tc_test.csv"),
        dataset="Medical Abstracts TC corpus (Schopf et al. 2022), 80 % part of the official test file",
        licence="CC BY-SA 3.0 (sebischair/Medical-Abstracts-TC-Corpus)",
        description="Wide-and-deep text classifier (TF-IDF word and character n-grams plus a small Transformer "
        "encoder), calibrated, that sorts a medical abstract or clinical text into one of 5 condition classes.",
        intended_use="Routing and triage of medical literature or clinical text by condition class, reviewed by a "
        "person; shows the words behind the suggestion.",
        out_of_scope_use="Any decision about an individual patient; conditions outside the 5 classes; "
        "non-English text.",
        limitations=_COMMON_LIMITS
        + (
            "The classes overlap ('general pathological conditions' is a catch-all) and 4 % of the abstracts "
            "carry two labels, so even a perfect reader cannot reach 100 % plain accuracy; 'any of its labels' "
            "accuracy is reported beside it.",
            "Trained on 1,800 abstracts only (the official 11,550-abstract training file was not available).",
            "Trained with class-balanced weights (better macro-F1), which moves probability towards the smaller "
            "classes; temperature scaling cannot undo that, so read the reliability curve before trusting a "
            "probability.",
        ),
        sequence_length=128,
        balanced=True,
        wide_epochs=30,
        encoder_epochs=6,
    ),
}
