"""One prediction request -> the plain JSON result, for every kind of model (no HTTP here).

The service's only model-facing code: the FastAPI app runs it in-process, and each Ray Serve
model deployment runs it in its replica, so both answer the same. Each kind takes the input of
ARCHITECTURE.md's "Model service" and returns the same results as the Python API; bad input
raises ``InvalidInputError`` with the API's own words.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from medcore.core.audit import input_digest
from medcore.core.errors import InvalidInputError
from medcore.core.settings import LIMITS
from medcore.core.validate import check_count, check_text_length

__all__ = ["FILE_KINDS", "Payload", "run", "plain", "png_data_url", "read_png_data_url", "digest"]

# Kinds whose input is image files (multipart); every other kind takes a JSON body.
FILE_KINDS = ("image", "modality", "segmentation")


@dataclass
class Payload:
    """What one predict call carries: uploaded files (name, bytes) or a JSON body, and ``explain``."""

    files: list[tuple[str, bytes]] = field(default_factory=list)
    body: dict | None = None
    explain: bool = False


def digest(payload: Payload) -> str:
    """sha256 of the request's input, for the audit log (the input itself is never kept)."""
    import json

    if payload.files:
        return input_digest(*[data for _, data in payload.files])
    return input_digest(json.dumps(payload.body, sort_keys=True, default=str))


def run(model, payload: Payload) -> tuple[dict, dict]:
    """The JSON response of ``model`` for ``payload``, and a short summary for the audit log.

    Raises:
        InvalidInputError: the input is not what this kind of model takes (the message says
            what was received and what to send instead).
    """
    handler = _HANDLERS.get(model.kind)
    if handler is None:
        raise InvalidInputError(f"Models of kind '{model.kind}' are not served over HTTP.")
    if model.kind in FILE_KINDS:
        if not payload.files:
            raise InvalidInputError(
                f"'{model.name}' reads image files: send them as multipart/form-data parts named 'files' "
                "(e.g. curl -F files=@xray.png ...)."
            )
        check_count(payload.files, "max_batch_files", "files")
    elif not isinstance(payload.body, dict):
        raise InvalidInputError(f"'{model.name}' takes a JSON object; e.g. {_EXAMPLES[model.kind]}.")
    response, summary = handler(model, payload)
    return plain(response), summary


# -- image files -----------------------------------------------------------------------------
def _images(model, payload: Payload) -> tuple[dict, dict]:
    results = []
    for r in model.analyse(payload.files):
        row = r.plain()
        if payload.explain and r.prepared is not None and not r.out_of_domain:
            row["explanation"] = {
                "method": "Grad-CAM of the decided class",
                "heatmap": png_data_url(model.explain(r.prepared)),
            }
        results.append(row)
    return {"results": results}, _image_summary(results)


def _modality(model, payload: Payload) -> tuple[dict, dict]:
    from medcore.imaging.decode import decode_image

    results = []
    for name, data in payload.files:
        row = _file_row(name)
        try:
            (found,) = model.detect([decode_image(data, name)])
            row.update(probabilities=found["probabilities"], predicted=found["modality"], decision=found["model"])
        except InvalidInputError as err:
            row["error"] = str(err)
        results.append(row)
    return {"results": results}, _image_summary(results)


def _segmentation(model, payload: Payload) -> tuple[dict, dict]:
    from medcore.imaging.decode import decode_image

    results = []
    for name, data in payload.files:
        row = _file_row(name, measures=None, mask=None)
        try:
            (found,) = model.analyse([decode_image(data, name).pixels])
        except InvalidInputError as err:
            row["error"] = str(err)
            results.append(row)
            continue
        if found["out_of_domain"]:
            row.update(out_of_domain=True, warnings=[f"Not analysed: {found['reason']}"])
        else:
            lesion = "lesion" if found["measures"]["lesion_found"] else "no lesion"
            row.update(predicted=lesion, decision=lesion, measures=found["measures"])
            row["mask"] = png_data_url(found["mask"].astype(np.float64))
        results.append(row)
    return {"results": results}, _image_summary(results)


def _file_row(name: str, **extra) -> dict:
    """An image result with no answer yet (the contract's fields, plus ``extra``)."""
    row = {"name": name, "probabilities": {}, "predicted": None, "decision": None, "out_of_domain": False}
    return {**row, "warnings": [], "error": None, **extra}


def _image_summary(results: list[dict]) -> dict:
    return {
        "files": len(results),
        "decisions": [r["decision"] for r in results],
        "out_of_domain": sum(bool(r["out_of_domain"]) for r in results),
        "errors": sum(bool(r["error"]) for r in results),
    }


# -- JSON bodies -----------------------------------------------------------------------------
def _texts(model, payload: Payload) -> tuple[dict, dict]:
    texts = _list_of(payload.body, "texts", str, model)
    for text in texts:
        check_text_length(text)
    probabilities = model.predict_proba(texts)
    results = []
    for text, row in zip(texts, probabilities):
        cleaned, warnings = model.prepare(text)
        predicted = model.labels[int(np.argmax(row))]
        result = {
            "probabilities": dict(zip(model.labels, row.tolist())),
            "predicted": predicted,
            "decision": predicted,
            "out_of_domain": False,
            "warnings": warnings,
            "cleaned": cleaned,  # the text as the model read it (control characters removed, cut to max_chars)
        }
        if payload.explain:
            result["explanation"] = {
                "method": "occlusion: drop in the top class's log-odds when the word is removed",
                "words": [[w, weight] for w, weight in model.explain(text)],
            }
        results.append(result)
    return {"results": results}, {"texts": len(texts), "decisions": [r["decision"] for r in results]}


def _checklist(model, payload: Payload) -> tuple[dict, dict]:
    patients = _list_of(payload.body, "symptoms", list, model)
    results = []
    for symptoms in patients:
        check_count(symptoms, "max_list_items", "symptoms")
        differential = model.differential(symptoms, top=5)
        proba = model.predict_proba([symptoms])[0]
        result = {
            "probabilities": dict(zip(model.labels, proba.tolist())),
            "predicted": differential[0]["disease"],
            "decision": differential[0]["disease"],
            "out_of_domain": False,
            "differential": differential,
            "next_questions": model.next_questions(symptoms, 3),
            "triage": model.triage(symptoms),
            "warnings": [],
        }
        if payload.explain:
            result["explanation"] = {
                "method": "each ticked symptom's weight for the top disease",
                "weights": model.explain(symptoms),
            }
        results.append(result)
    return {"results": results}, {"patients": len(results), "decisions": [r["decision"] for r in results]}


_CASE_FIELDS = ("text", "age", "sex", "symptoms", "absent", "ignore")  # the arguments of assess


def _assessment(model, payload: Payload) -> tuple[dict, dict]:
    """One or more patients: ``{"cases": [{"text", "age", "sex", "symptoms", "absent", "ignore"}]}`` or one case's keys."""
    body = payload.body
    cases = body.get("cases") if "cases" in body else [body]
    if not isinstance(cases, list) or not cases or not all(isinstance(case, dict) for case in cases):
        raise InvalidInputError(
            f"'{model.name}' needs a case object or 'cases': a list of them; e.g. {_EXAMPLES['assessment']}."
        )
    check_count(cases, "max_list_items", "cases")
    results = []
    for case in cases:
        unknown = sorted(set(case) - set(_CASE_FIELDS))
        if unknown:
            raise InvalidInputError(f"Unknown field(s) {unknown}; a case has {', '.join(_CASE_FIELDS)}.")
        results.append(model.assess(**{key: case[key] for key in _CASE_FIELDS if case.get(key) is not None}))
    return {"results": results}, {"cases": len(results), "levels": [r["triage"]["level"] for r in results]}


_PLAN_FIELDS = ("plan", "history", "age", "sex", "location", "lifestyle", "k")


def _care_plan(model, body: dict) -> tuple[dict, dict]:
    """``{"where": {"location", "need", "k"}}`` -> nearest facilities; ``{"plan": true, ...}`` -> the care plan."""
    if "where" in body:
        query = body["where"]
        if not isinstance(query, dict) or set(query) - {"location", "need", "k"}:
            raise InvalidInputError(
                'where must be {"location": [lat, lon] or "68508" or "Lincoln, NE", "need": "emergency", "k": 5}.'
            )
        location = query.get("location")
        results = model.where(
            tuple(location) if isinstance(location, list) else location, query.get("need"), query.get("k", 5)
        )
        return {"results": results}, {"facilities": len(results)}
    unknown = sorted(set(body) - set(_PLAN_FIELDS))
    if unknown:
        raise InvalidInputError(f"Unknown field(s) {unknown}; a plan request has {', '.join(_PLAN_FIELDS)}.")
    history = body.get("history", [])
    location = body.get("location")
    result = model.plan(
        history,
        age=body.get("age"),
        sex=body.get("sex"),
        location=tuple(location) if isinstance(location, list) else location,
        lifestyle=body.get("lifestyle"),
        k=body.get("k", 10),
    )
    return result, {"gaps": len(result["care_gaps"]), "next": len(result["next"]), "where": len(result["where"])}


def _recommender(model, payload: Payload) -> tuple[dict, dict]:
    if payload.body.get("plan") is True or "where" in payload.body:
        return _care_plan(model, payload.body)
    history = _list_of(payload.body, "history", str, model)
    k = payload.body.get("k", 10)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= LIMITS["max_recommendations"]:
        raise InvalidInputError(f"'k' must be a whole number from 1 to {LIMITS['max_recommendations']}; got {k!r}.")
    age, sex = payload.body.get("age"), payload.body.get("sex")
    if age is not None and (isinstance(age, bool) or not isinstance(age, (int, float))):
        raise InvalidInputError(f"'age' must be a number of years or null; got {age!r}.")
    if sex is not None and not isinstance(sex, str):
        raise InvalidInputError(f'\'sex\' must be a string such as "F" or "M", or null; got {sex!r}.')
    result = model.recommend(history, k=k, age=age, sex=sex)
    if payload.explain:
        result["explanation"] = model.explain(history, k=k, age=age, sex=sex)
    return result, {"history_items": len(history), "recommended": len(result["items"])}


def _records(model, payload: Payload) -> tuple[dict, dict]:
    records = _list_of(payload.body, "records", dict, model)
    # Survival: {"curves": true} adds each patient's times, survival and band (the client's predict_survival).
    curves = {"curves": True} if model.kind == "survival" and payload.body.get("curves") is True else {}
    # Dosing: {"strengths": [1, 3, 5]} are the tablet strengths stocked (mg) for the week of tablets.
    if model.kind == "dosing" and payload.body.get("strengths") is not None:
        curves = {"strengths": payload.body["strengths"]}
    results = model.analyse(records, **curves)
    if payload.explain:
        for record, result in zip(records, results):
            if not result["out_of_domain"]:
                result["explanation"] = model.explain([record])
    summary = {"records": len(results), "out_of_domain": sum(bool(r["out_of_domain"]) for r in results)}
    return {"results": results}, summary


def _molecules(model, payload: Payload) -> tuple[dict, dict]:
    smiles = _list_of(payload.body, "smiles", str, model)
    results = model.analyse(smiles)
    if payload.explain:
        for result in results:
            if not result["error"] and not result["out_of_domain"]:
                result["explanation"] = model.explain(result["smiles"])
    summary = {
        "molecules": len(results),
        "errors": sum(bool(r["error"]) for r in results),
        "out_of_domain": sum(bool(r["out_of_domain"]) for r in results),
    }
    return {"results": results}, summary


def _literature(model, payload: Payload) -> tuple[dict, dict]:
    texts = _list_of(payload.body, "texts", str, model)
    for text in texts:
        check_text_length(text)
    # Optional: where each text's title ends (a PubTator title is its own sentence).
    title_ends = payload.body.get("title_ends")
    if title_ends is not None and (
        not isinstance(title_ends, list)
        or len(title_ends) != len(texts)
        or not all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in title_ends)
    ):
        raise InvalidInputError("'title_ends' must be a list of one whole number >= 0 per text (or left out).")
    results = model.extract_many(texts, title_ends)
    summary = {
        "texts": len(results),
        "entities": sum(len(r["entities"]) for r in results),
        "relations": sum(len(r["relations"]) for r in results),
        "out_of_domain": sum(bool(r["out_of_domain"]) for r in results),
    }
    return {"results": results}, summary


_HANDLERS: dict[str, Callable[[Any, Payload], tuple[dict, dict]]] = {
    "image": _images,
    "modality": _modality,
    "segmentation": _segmentation,
    "text": _texts,
    "checklist": _checklist,
    "assessment": _assessment,
    "recommender": _recommender,
    "survival": _records,
    "dosing": _records,
    "molecule": _molecules,
    "literature": _literature,
}

_EXAMPLES = {
    "text": '{"texts": ["I have had a rash and a fever for three days"]}',
    "checklist": '{"symptoms": [["itching", "skin_rash"]]}',
    "assessment": '{"text": "fever and cough for 3 days", "age": 40, "sex": "female"}',
    "recommender": '{"history": ["condition:444814009"], "k": 10, "age": 40, "sex": "F"} (add "plan": true and '
    '"location", "lifestyle" for the care plan; or {"where": {"location": "68508", "need": "emergency"}})',
    "survival": '{"records": [{"age": 60, ...}]} with the covariate columns of the card',
    "dosing": '{"records": [{"Age": "60 - 69", ...}], "strengths": [1, 3, 5]} with the IWPC columns of the card '
    "(strengths: the tablet strengths stocked, mg; optional)",
    "molecule": '{"smiles": ["CC(=O)Oc1ccccc1C(=O)O"]}',
    "literature": '{"texts": ["Cisplatin-induced nephrotoxicity was ..."]}',
}


def _list_of(body: dict, key: str, item_type: type, model) -> list:
    """``body[key]`` as a non-empty list of ``item_type`` (else an error that shows a valid body)."""
    value = body.get(key)
    kind = {str: "strings", list: "lists", dict: "objects"}[item_type]
    if not isinstance(value, list) or not value or not all(isinstance(v, item_type) for v in value):
        got = "nothing" if value is None else f"{type(value).__name__} {str(value)[:60]!r}"
        raise InvalidInputError(
            f"'{model.name}' needs '{key}': a non-empty list of {kind}; got {got}. Send e.g. {_EXAMPLES[model.kind]}."
        )
    limit = "max_batch_molecules" if model.kind == "molecule" else "max_list_items"
    check_count(value, limit, key)
    return value


# -- JSON-safe values ------------------------------------------------------------------------
def plain(value):
    """``value`` with NumPy scalars/arrays, tuples and dataclasses turned into JSON types; NaN -> None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    return value


def png_data_url(array: np.ndarray) -> str:
    """A (H, W) array in [0, 1] as an 8-bit greyscale PNG data URL (0 -> black, 1 -> white)."""
    from PIL import Image

    pixels = np.round(np.clip(np.asarray(array, dtype=np.float64), 0.0, 1.0) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def read_png_data_url(url: str) -> np.ndarray:
    """The inverse of ``png_data_url``: float array (H, W) in [0, 1]."""
    from PIL import Image

    data = base64.b64decode(url.split(",", 1)[1])
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("L"), dtype=np.float64) / 255.0
