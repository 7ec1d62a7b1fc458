"""What each image model is: its data, labels, card text and training settings (one ``ImageRecipe`` each)."""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["ImageRecipe", "IMAGE_RECIPES", "SMALL_INPUT"]

SMALL_INPUT = 64  # px: an upload whose shorter side is below this is answered by the recipe's small network


@dataclass(frozen=True)
class ImageRecipe:
    """How one image model is built, trained and described."""

    task: str
    data_file: str
    labels: tuple[str, ...]
    channels: int
    description: str
    intended_use: str
    out_of_scope_use: str
    limitations: tuple[str, ...]
    modalities: tuple[str, ...] = ()  # DICOM Modality codes the model reads; any other is out of domain
    modality: str = ""  # the kind of image, as the image-modality model names it
    positive_label: str | None = None
    width: int = 16
    members: int = 3
    epochs: int = 40
    patience: int = 12
    batch_size: int = 64
    learning_rate: float = 2e-3
    flip: bool = True
    balanced: bool = False
    side: int = 28
    # k > 1: k-fold cross-validation over train + val, one member per fold; the members' out-of-fold
    # predictions choose test-time flipping, fit the temperature and threshold and give the headline
    # figures (small data sets). 0: members trained on train, all of that on the val split.
    folds: int = 0
    ordinal: bool = False  # labels are ordered grades: shown in their order, not by probability
    domain_percentile: float = 99.5  # of genuine held-out distances: the domain check's threshold
    depth: int = 3  # stages of 2 convolutions per member
    # "crop": MedMNIST's centre square; "squash": the whole frame resized to a square, as the
    # training files were made from the originals (``source``: their side and resampling).
    framing: str = "crop"
    source: tuple[int, str] | None = None
    artefacts: bool = False  # augment with what real uploads show: borders, text markers
    sensitivity_target: float | None = None  # the threshold keeps this sensitivity (else Youden's J)
    small: ImageRecipe | None = None  # the network that answers uploads under ``SMALL_INPUT`` px
    dataset: str = ""  # the card's name of the training data (default: MedMNIST v2, the file's name)
    anchors: tuple[tuple[str, str], ...] = ()  # (source, published figures) for the card
    licence: str = "CC BY 4.0 (MedMNIST v2; cite Yang et al., Sci Data 2023 and the source data paper)"
    resample: str = "bicubic"  # the last resize to ``side``: as the training images were made
    # an npz beside the data (relative to the shared data folder) of the training images' originals, with
    # ``images``, ``original_sizes``, ``breastmnist_split`` and ``breastmnist_index``: restored to their
    # original size and read as uploads are, for the card's full-size check
    originals: str | None = None

    @property
    def preparation(self) -> dict:
        """``to_model_input``'s ``framing``, ``source`` and ``resample`` keywords for this recipe."""
        return {"framing": self.framing, "source": self.source, "resample": self.resample}


_COMMON_LIMITS = (
    "Trained and validated on 28x28 MedMNIST images: fine detail visible at full resolution is lost.",
    "Validation data come from the same source as the training data; performance on another "
    "hospital's scanners and population is unknown until measured there.",
    "The domain check refuses images unlike the training images; it was measured on synthetic, "
    "photographic and other-modality inputs, not on every kind of image a clinic holds.",
)
_SPLIT_LIMIT = (
    "Metrics in this card are on the validation split, which was also used for early stopping, "
    "calibration and the threshold; expect slightly lower figures on new data."
)
_CV_LIMIT = (
    "Metrics in this card are 5-fold cross-validated over train + val (each image predicted by the "
    "member that did not train on it, which also early-stopped on it); the shipped ensemble averages "
    "all five members."
)

_PNEUMONIA_28 = ImageRecipe(
    task="Chest X-ray (paediatric, anterior-posterior): normal vs pneumonia",
    data_file="medmnist/pneumoniamnist_trainval.npz",
    labels=("normal", "pneumonia"),
    channels=1,
    modalities=("CR", "DX"),
    modality="chest X-ray",
    positive_label="pneumonia",
    description="Ensemble of small CNNs that estimates the probability of pneumonia on a paediatric chest X-ray.",
    intended_use="Second reader for clinicians triaging paediatric chest X-rays (ages 1-5) for pneumonia; "
    "the result and heatmap are reviewed by a clinician.",
    out_of_scope_use="Adults, lateral views, CT, telling bacterial from viral pneumonia, other chest "
    "findings, and any use without a clinician's review.",
    limitations=_COMMON_LIMITS
    + (_SPLIT_LIMIT, "Trained on one centre's paediatric images (Guangzhou Women and Children's Medical Center)."),
    width=16,
    members=2,
    epochs=24,
    patience=8,
    flip=False,
    balanced=True,
)

IMAGE_RECIPES: dict[str, ImageRecipe] = {
    "pneumonia-cxr": replace(  # the 28 px recipe's task and labels, read at 128 px from the Kermany files
        _PNEUMONIA_28,
        data_file="chest_xray",
        dataset="Kermany et al. 2018 chest X-rays, official TRAIN folder (shared/data/chest_xray, 224 px)",
        description="Ensemble of CNNs that reads a paediatric chest X-ray at 128 px and estimates the probability "
        "of pneumonia; uploads under 64 px are read by a 28 px network trained on PneumoniaMNIST.",
        limitations=(
            "The network reads the whole X-ray squashed to 128 x 128 px (as the training files were squashed to "
            "224 px): findings smaller than about 1/128 of the film are not resolved.",
            _COMMON_LIMITS[1],
            _COMMON_LIMITS[2],
            "Metrics in this card are on validation patients (grouped by patient, never in training), who also "
            "chose the epoch, the temperature and the threshold; expect slightly lower figures on new data.",
            "Trained on one centre's paediatric images (Guangzhou Women and Children's Medical Center).",
            "The 'full-size' check restores the validation X-rays to their original size and aspect ratio from "
            "224 px copies; true originals of those patients are not in the training data folder.",
        ),
        width=8,
        depth=4,
        side=128,
        epochs=12,
        patience=5,
        batch_size=32,
        framing="squash",
        source=(224, "lanczos"),
        artefacts=True,
        sensitivity_target=0.95,
        small=_PNEUMONIA_28,
        licence="CC BY 4.0 (Kermany et al., Mendeley Data v2; cite Kermany et al., Cell 2018); the 28 px network: "
        "MedMNIST v2, CC BY 4.0 (cite Yang et al., Sci Data 2023)",
        anchors=(
            (
                "Kermany et al., Cell 2018: Inception-v3 transfer learning, the 624 official test X-rays",
                "AUC 0.968, accuracy 0.928, sensitivity 0.932, specificity 0.901",
            ),
            ("MedMNIST v2 (Yang et al. 2023), PneumoniaMNIST test, ResNet-18 (28)", "AUC 0.944, accuracy 0.854"),
            ("MedMNIST v2, PneumoniaMNIST test, ResNet-50 (224)", "AUC 0.962, accuracy 0.884"),
        ),
    ),
    "breast-ultrasound": ImageRecipe(
        task="Breast ultrasound: malignant vs normal/benign",
        data_file="medmnist/breastmnist_trainval.npz",
        labels=("malignant", "normal, benign"),
        channels=1,
        modalities=("US",),
        modality="breast ultrasound",
        positive_label="malignant",
        description="Ensemble of small CNNs that estimates the probability that a breast ultrasound image shows a malignant lesion.",
        intended_use="Decision support for clinicians reading breast ultrasound images of women aged 25-75; "
        "flags images for closer review.",
        out_of_scope_use="Mammography, MRI, men, screening without a clinician, and replacing biopsy.",
        limitations=_COMMON_LIMITS
        + (
            _CV_LIMIT,
            "Only 624 images in all: the figures have wide uncertainty (see the intervals).",
            "Every upload is read at 28 px, reduced as BreastMNIST reduced the BUSI originals. A 128 px network "
            "trained on the 256 px BUSI originals (same 5-fold protocol, December 2026) ranked worse (AUC 0.816 "
            "against 0.861) and was not shipped.",
            "Lesion shape was tried as an auxiliary task: a head on the last feature map learning each cell's "
            "lesion share from the training folds' hand-drawn masks (benchmarks/breast_lesion_head.py). Out-of-fold "
            "AUC moved by less than the run-to-run spread (weight 1: 0.870 against 0.863 without in one run, 0.858 "
            "against 0.872 in another with different numerical libraries), so it was not adopted.",
        ),
        width=16,
        members=5,
        epochs=60,
        patience=20,
        flip=True,
        balanced=True,
        folds=5,
        # BreastMNIST's own reduction of the BUSI originals (verified pixel for pixel, busi_segmentation/SOURCE.md):
        # centre square with rounded offsets, bilinear to 28 px. Bicubic differs by 1.7 grey levels on average.
        resample="bilinear",
        originals="busi_segmentation/busi_seg_trainval.npz",
    ),
    "retina-dr": ImageRecipe(
        task="Retinal fundus photograph: diabetic-retinopathy grade 0-4",
        data_file="medmnist/retinamnist_trainval.npz",
        labels=(
            "grade 0: no DR",
            "grade 1: mild NPDR",
            "grade 2: moderate NPDR",
            "grade 3: severe NPDR",
            "grade 4: proliferative DR",
        ),
        channels=3,
        modalities=("OP", "XC"),
        modality="fundus photograph",
        description="Ensemble of small CNNs that grades diabetic retinopathy (0 none to 4 proliferative) on a colour fundus photograph.",
        intended_use="Decision support for clinicians grading colour fundus photographs of people with diabetes.",
        out_of_scope_use="Other retinal diseases, OCT, non-diabetic patients, and screening without a clinician.",
        limitations=_COMMON_LIMITS
        + (
            _CV_LIMIT,
            "Grades 1 and 4 are rare (about 12 % and 6 % of the images): their per-class figures are unreliable.",
            "The grades are ordinal, but the model treats them as unordered classes.",
        ),
        width=16,
        members=5,
        epochs=40,
        patience=12,
        flip=True,
        balanced=False,
        folds=5,
        ordinal=True,
    ),
}
