"""medcore: trained clinical models with calibrated probabilities, explanations and cards.

    import medcore
    medcore.list_models()                          # cards of every shipped bundle
    model = medcore.load_model("pneumonia-cxr")    # verified, loaded once per process
                                                   # (or a client of $MEDCORE_MODEL_SERVER)
    model.predict_proba(images)                    # (N, len(model.labels)), rows sum to 1
    model.explain(image)                           # Grad-CAM heatmap in [0, 1]

Decision support, not a diagnosis.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from medcore.core import registry as _registry  # noqa: E402
from medcore.core.errors import BundleIntegrityError, InvalidInputError, MedcoreError, ModelNotFoundError  # noqa: E402
from medcore.core.registry import list_models, read_card, read_evaluation  # noqa: E402

__version__ = "0.1.0"


def load_model(name: str):
    """The model ``name``: verified and loaded once per process, or, when ``MEDCORE_MODEL_SERVER``
    names a model service (``python -m medcore serve``), a client of it with the same API
    (token from ``MEDCORE_MODEL_TOKEN``).

    Raises:
        ModelNotFoundError: no such model.
        BundleIntegrityError: the bundle does not match its card (or the service's copy is unavailable).
    """
    server = os.environ.get("MEDCORE_MODEL_SERVER", "").strip()
    if server:
        from medcore.api.client import connect

        return connect(name, server, os.environ.get("MEDCORE_MODEL_TOKEN") or None)
    return _registry.load_model(name)


__all__ = [
    "BundleIntegrityError",
    "InvalidInputError",
    "MedcoreError",
    "ModelNotFoundError",
    "list_models",
    "load_model",
    "read_card",
    "read_evaluation",
    "__version__",
]
