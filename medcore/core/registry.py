"""Model bundles: find them, read their cards, verify them and load each once per process.

A bundle is ``<models dir>/<name>/`` holding ``card.json`` (which lists the sha256 of every
other file), the model file(s), ``evaluation.json`` and ``README.md``. ``load_model`` checks
every sha256 before anything is deserialised and refuses a bundle that does not match.
Loaded models are kept in a process-wide cache guarded by a lock, so concurrent sessions
share one object. ``CAPABILITIES`` is the one table from a card's ``kind`` to the capability
package that loads, trains and evaluates it; core names those packages only as strings here.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from medcore.core.bundle import card_digest, sha256_file
from medcore.core.errors import BundleIntegrityError, InvalidInputError, ModelNotFoundError
from medcore.core.settings import models_dir

__all__ = [
    "Capability",
    "CAPABILITIES",
    "capability_module",
    "trainer",
    "bundle_path",
    "read_card",
    "read_evaluation",
    "read_arrays",
    "list_models",
    "verify_bundle",
    "load_model",
    "warm_up",
]

_CACHE: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()
_WARM_UP: dict[str, threading.Thread] = {}  # models folder -> its warm-up thread
_WARM_UP_DELAY_S = 3.0
_WAITING = 0  # callers of load_model waiting for a model now (pages); the warm-up yields to them
_COUNT_LOCK = threading.Lock()


@dataclass(frozen=True)
class Capability:
    """One row of ``CAPABILITIES``: where the code of one kind of model lives.

    Attributes:
        package: the capability package, e.g. ``medcore.imaging``.
        loader: function of ``<package>.model`` that builds the model: ``(bundle folder, card) -> model``.
        trainer: function of ``<package>.train`` that writes a bundle:
            ``(name, data_path, epochs=None, seed=0, out_dir=None, command="", **options) -> bundle folder``.
        models: the shipped models that trainer builds (``python -m medcore train NAME``).
        model_module: the module of the package holding the loader (default ``model``).
        train_module: the module of the package holding the trainer (default ``train``).
    """

    package: str
    loader: str
    trainer: str
    models: tuple[str, ...]
    model_module: str = "model"
    train_module: str = "train"


# card["kind"] -> its capability, in the pages' order (the warm-up loads models in this order, so the
# image page's router and models come first). Adding a capability is one folder and one row here.
CAPABILITIES: dict[str, Capability] = {
    # The image page's router: which kind of image an upload is (imaging's second kind of bundle).
    "modality": Capability(
        "medcore.imaging",
        "load_modality_model",
        "train_modality_model",
        ("image-modality",),
        model_module="modality",
        train_module="train_modality",
    ),
    "image": Capability(
        "medcore.imaging", "load_image_model", "train_image_model", ("pneumonia-cxr", "breast-ultrasound", "retina-dr")
    ),
    "segmentation": Capability(
        "medcore.segmentation", "load_segmentation_model", "train_segmentation_model", ("breast-lesion-segmentation",)
    ),
    "text": Capability("medcore.text", "load_text_model", "train_text_model", ("symptom-text", "abstract-topic")),
    "assessment": Capability(
        "medcore.assessment", "load_assessment_model", "train_assessment_model", ("symptom-assessment",)
    ),
    "checklist": Capability(
        "medcore.checklist", "load_checklist_model", "train_checklist_model", ("symptom-checklist",)
    ),
    "recommender": Capability(
        "medcore.care", "load_recommender_model", "train_recommender_model", ("care-recommender",)
    ),
    "survival": Capability(
        "medcore.survival",
        "load_survival_model",
        "train_survival_model",
        ("survival-gbsg", "survival-metabric", "survival-support"),
    ),
    "dosing": Capability("medcore.dosing", "load_dose_model", "train_dose_model", ("warfarin-dose",)),
    "molecule": Capability(
        "medcore.molecules", "load_molecule_model", "train_molecule_model", ("drug-bbbp", "drug-tox21", "drug-esol")
    ),
    "literature": Capability(
        "medcore.literature", "load_literature_model", "train_literature_model", ("literature-extraction",)
    ),
}


def capability_module(kind: str, part: str) -> ModuleType:
    """The ``part`` module (``model``, ``train``, ``evaluate``...) of the capability serving ``kind``.

    ``model`` and ``train`` resolve to the row's ``model_module`` and ``train_module``.

    Raises:
        ModelNotFoundError: no capability serves that kind (the message lists the kinds).
    """
    if kind not in CAPABILITIES:
        raise ModelNotFoundError(
            f"No capability serves models of kind '{kind}'; known kinds: {', '.join(CAPABILITIES)}. "
            "Update medcore or retrain the bundle."
        )
    row = CAPABILITIES[kind]
    module = {"model": row.model_module, "train": row.train_module}.get(part, part)
    return importlib.import_module(f"{row.package}.{module}")


def trainer(model_name: str) -> Callable[..., Path]:
    """The training function that builds the bundle ``model_name``.

    Raises:
        InvalidInputError: no capability trains a model of that name (the message lists them).
    """
    for kind, row in CAPABILITIES.items():
        if model_name in row.models:
            return getattr(capability_module(kind, "train"), row.trainer)
    trainable = [name for row in CAPABILITIES.values() for name in row.models]
    raise InvalidInputError(f"Unknown model '{model_name}'; trainable models: {', '.join(trainable)}.")


def bundle_path(name: str) -> Path:
    """The bundle folder of model ``name``.

    Raises:
        ModelNotFoundError: no bundle of that name; the message lists the models present.
    """
    root = models_dir()
    path = root / name
    if not name or "/" in name or "\\" in name or name.startswith(".") or not (path / "card.json").is_file():
        available = [card["name"] for card in list_models()]
        raise ModelNotFoundError(
            f"No model named '{name}' in {root}. Available: {', '.join(available) or 'none'}. "
            "Run `python -m medcore models` to list them."
        )
    return path


def read_card(name: str) -> dict:
    """The parsed ``card.json`` of model ``name``."""
    return _read_json(bundle_path(name) / "card.json")


def read_evaluation(name: str) -> dict:
    """The parsed ``evaluation.json`` of model ``name`` (verified against the card first)."""
    path = bundle_path(name)
    verify_bundle(path)
    return _read_json(path / "evaluation.json")


def read_arrays(name: str, file_name: str) -> dict:
    """The arrays of an ``.npz`` file of model ``name``'s bundle (verified first; never unpickled)."""
    import numpy as np

    path = bundle_path(name)
    verify_bundle(path)
    with np.load(path / file_name, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def list_models() -> list[dict]:
    """The cards of every bundle in the models folder, sorted by name (unreadable ones skipped)."""
    root = models_dir()
    cards = []
    if root.is_dir():
        for card_file in sorted(root.glob("*/card.json")):
            try:
                cards.append(_read_json(card_file))
            except BundleIntegrityError:
                continue
    return cards


def verify_bundle(path: Path) -> dict:
    """Check every file listed in the card against its sha256.

    Returns:
        The card.

    Raises:
        BundleIntegrityError: the card is unsigned or edited, or a listed file is missing or its sha256 differs.
    """
    card = _read_json(path / "card.json")
    files = card.get("files") or {}
    if not files:
        raise BundleIntegrityError(f"The card of '{path.name}' lists no files and their sha256; retrain the bundle.")
    signed = card.get("card_sha256")
    if not signed:
        raise BundleIntegrityError(
            f"The card of '{path.name}' carries no card_sha256, so an edit to its thresholds or labels could not be "
            f"seen; rebuild it with `python -m medcore train {path.name}`."
        )
    if card_digest(card) != signed:
        raise BundleIntegrityError(
            f"Model '{path.name}' refused: its card.json was changed after training (its content does not match "
            "its card_sha256). Thresholds, temperatures, domain limits, labels and preprocessing are model "
            f"parameters; restore the card from the repository or rebuild it with `python -m medcore train {path.name}`."
        )
    for file_name, expected in files.items():
        file_path = path / file_name
        if not file_path.is_file():
            raise BundleIntegrityError(
                f"Model '{path.name}' is incomplete: '{file_name}' is missing. Restore the bundle "
                f"from the repository or rebuild it with `python -m medcore train {path.name}`."
            )
        actual = sha256_file(file_path)
        if actual != expected:
            raise BundleIntegrityError(
                f"Model '{path.name}' refused: '{file_name}' does not match the sha256 in its card "
                f"(expected {expected[:12]}..., found {actual[:12]}...). The file was changed or "
                f"corrupted; restore it or rebuild it with `python -m medcore train {path.name}`."
            )
    return card


def load_model(name: str):
    """The model ``name``, verified and loaded once per process (thread-safe).

    Raises:
        ModelNotFoundError: no such bundle.
        BundleIntegrityError: the bundle does not match its card.
    """
    global _WAITING
    with _COUNT_LOCK:
        _WAITING += 1  # the warm-up steps aside while a caller waits (see _load_every_model)
    try:
        return _load(name)
    finally:
        with _COUNT_LOCK:
            _WAITING -= 1


def _load(name: str):
    path = bundle_path(name)
    key = (str(path.resolve()), name)
    with _LOCK:
        if key not in _CACHE:
            card = verify_bundle(path)
            loader = getattr(capability_module(card["kind"], "model"), CAPABILITIES[card["kind"]].loader)
            _CACHE[key] = loader(path, card)
        return _CACHE[key]


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise BundleIntegrityError(
            f"'{path}' could not be read as JSON ({err}); restore or rebuild the bundle."
        ) from None


def warm_up(skip_kinds: tuple[str, ...] = ()) -> threading.Thread | None:
    """Load every model of the models folder in a background thread, once per process and folder.

    The server calls this when the first page opens, so a clinician's first prediction does
    not wait for TensorFlow to import and the models to load (about 20 s on 2 cores). Bundles
    that fail to load are skipped here; the page that uses one shows why. Loading shares
    ``load_model``'s lock and cache, so a page asking for a model meanwhile gets the same object.
    Models of ``skip_kinds`` are not loaded (the dashboard skips those a model service runs).

    Returns:
        The started thread, or None when one already ran for this folder or
        ``MEDCORE_WARM_UP=0`` turns warm-up off (tests do).
    """
    folder = str(models_dir().resolve())
    if os.environ.get("MEDCORE_WARM_UP", "1") == "0":
        return None
    with _LOCK:
        if folder in _WARM_UP:
            return None
        thread = threading.Thread(target=_load_every_model, args=(skip_kinds,), name="medcore-warm-up", daemon=True)
        _WARM_UP[folder] = thread
    thread.start()
    return thread


def _load_every_model(skip_kinds: tuple[str, ...] = ()) -> None:
    # Let the first page finish drawing: importing TensorFlow holds the interpreter for seconds.
    time.sleep(_WARM_UP_DELAY_S)
    shipped = [name for row in CAPABILITIES.values() for name in row.models]  # the pages' order
    cards = sorted(list_models(), key=lambda c: shipped.index(c["name"]) if c["name"] in shipped else len(shipped))
    for card in cards:
        if card.get("kind") in skip_kinds:
            continue
        while _WAITING:  # a page is waiting for its model: let it have the lock and the cores first
            time.sleep(0.05)
        try:
            _load(card["name"])
        except Exception:  # noqa: BLE001 - the page that uses this model reports the error in full
            continue
