"""A model on a remote medcore service, with the Python API of ARCHITECTURE.md.

    MEDCORE_MODEL_SERVER=http://models:8000 MEDCORE_MODEL_TOKEN=mc_... python ...
    model = medcore.load_model("pneumonia-cxr")      # a RemoteModel: same methods, run remotely

Every method sends ``POST /v1/models/{name}/predict`` (texts for literature in batches of 50) and
rebuilds what the in-process model returns. Differences: a remote model answers nothing outside its domain, so
``predict_proba`` / ``predict`` / ``risk`` / ``predict_dose`` rows of such inputs are NaN (the
``analyse`` results say why); errors arrive as the same exceptions (``InvalidInputError`` for
bad input, ``ModelNotFoundError``, ``BundleIntegrityError`` for an unavailable model,
``MedcoreError`` for access and connection problems). Images travel as lossless PNG; nothing is
written to disk.
"""

from __future__ import annotations

import io
import math
import threading
from pathlib import Path

import numpy as np

from medcore.api.predict import read_png_data_url
from medcore.core.errors import BundleIntegrityError, InvalidInputError, MedcoreError, ModelNotFoundError

__all__ = ["RemoteModel", "connect"]

_NAN = float("nan")


_CLIENTS: dict[tuple[str, str, str | None], RemoteModel] = {}
_LOCK = threading.Lock()


def connect(name: str, server: str, token: str | None = None, timeout: float = 120.0) -> RemoteModel:
    """The model ``name`` of the service at ``server``, one client per process (raises what ``load_model`` raises)."""
    key = (server.rstrip("/"), name, token)
    with _LOCK:
        if key not in _CLIENTS:
            _CLIENTS[key] = RemoteModel(name, server, token, timeout)
        return _CLIENTS[key]


class RemoteModel:
    """A model served by ``python -m medcore serve``: ``.name``, ``.card``, ``.kind``, ``.labels`` /
    ``.tasks`` and the methods of its kind (see the module docstring)."""

    def __init__(self, name: str, server: str, token: str | None = None, timeout: float = 120.0):
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.server = server.rstrip("/")
        self._http = httpx.Client(base_url=self.server, headers=headers, timeout=timeout)
        self.card: dict = self._call("GET", f"/v1/models/{name}")
        self.name: str = self.card["name"]
        self.kind: str = self.card["kind"]
        self.labels: list[str] | None = self.card.get("labels")
        self.tasks: list[str] | None = self.card.get("tasks")
        self.conditions: list[str] | None = self.labels if self.kind == "assessment" else None
        point = self.card.get("operating_point") or {}
        self.threshold: float | None = point.get("threshold")
        self.positive_label: str | None = point.get("positive_label")

    def __repr__(self) -> str:
        return f"RemoteModel({self.name!r} at {self.server})"

    # -- transport ---------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs) -> dict:
        import httpx

        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as err:
            raise MedcoreError(
                f"The model service at {self.server} could not be reached ({type(err).__name__}). "
                "Check MEDCORE_MODEL_SERVER and that `python -m medcore serve` runs there."
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text[:200]}
        if response.status_code < 400:
            return body
        message = body.get("error", "no message") if isinstance(body, dict) else str(body)
        if response.status_code == 404:
            raise ModelNotFoundError(message)
        if response.status_code in (400, 413, 415, 422):
            raise InvalidInputError(message)
        if response.status_code == 503:
            raise BundleIntegrityError(message)
        raise MedcoreError(f"The model service answered {response.status_code}: {message}")

    def _predict(self, body: dict | None = None, files: list[tuple[str, bytes]] | None = None, explain=False):
        params = {"explain": "true"} if explain else None
        if files is not None:
            parts = [("files", (name, data, "application/octet-stream")) for name, data in files]
            return self._call("POST", f"/v1/models/{self.name}/predict", files=parts, params=params)
        return self._call("POST", f"/v1/models/{self.name}/predict", json=body, params=params)

    def _kind(self, *kinds: str) -> None:
        if self.kind not in kinds:
            raise AttributeError(f"'{self.name}' is a {self.kind} model; this method is for {' or '.join(kinds)}.")

    # -- images ------------------------------------------------------------------------------
    def analyse(self, inputs, detections=None, pixel_spacing=None, curves: bool = False):
        """Per-item results, as the in-process ``analyse`` of this kind returns them.

        Images: ``[(name, bytes)]`` -> ``ImageResult`` per file (``prepared`` decoded here, for overlays) (``detections`` are ignored:
        the service runs its own). Segmentation: uint8 images -> ``{mask, measures, out_of_domain,
        reason}``. Survival / dosing: rows (DataFrame or list of dicts). Molecules: SMILES.
        """
        if self.kind in ("image", "modality"):
            return self._image_results(inputs)
        if pixel_spacing is not None:
            raise InvalidInputError("The model service measures in pixels; call measure(mask, pixel_spacing) here.")
        if self.kind == "segmentation":
            return [self._segmentation_result(r) for r in self._predict(files=_png_files(inputs))["results"]]
        if self.kind in ("survival", "dosing"):
            return self._predict({"records": _records(inputs), "curves": curves})["results"]
        if self.kind == "molecule":
            return self._predict({"smiles": [inputs] if isinstance(inputs, str) else list(inputs)})["results"]
        raise AttributeError(f"'{self.name}' ({self.kind}) has no analyse method.")

    def _image_results(self, files) -> list:
        from medcore.imaging.decode import decode_image, framing_of, to_model_input
        from medcore.imaging.model import ImageResult
        from medcore.imaging.recipes import SMALL_INPUT

        files = [(str(n), bytes(d)) for n, d in files]
        results = []
        for (name, data), row in zip(files, self._predict(files=files)["results"]):
            result = ImageResult(**{k: row[k] for k in ("name", "predicted", "decision", "error", "out_of_domain")})
            result.probabilities, result.warnings = row["probabilities"] or {}, row["warnings"] or []
            if not result.error:
                decoded = decode_image(data, name)
                small = "small_input" in self.card and min(decoded.pixels.shape[:2]) < SMALL_INPUT
                card = self.card["small_input"] if small else self.card  # the network the service used
                shape = card["input"]["shape"]
                result.prepared = to_model_input(decoded, int(shape[0]), int(shape[2]), **framing_of(card))
                if result.decision is not None:
                    result.threshold = card.get("operating_point", {}).get("threshold")
                    result.answered_by = f"{shape[0]} px network"
            results.append(result)
        return results

    def predict_proba(self, inputs) -> np.ndarray:
        """Probabilities (N, len(labels)): images (uint8 arrays), texts, or symptom lists; NaN rows
        for images outside the model's domain."""
        if self.kind in ("image", "modality"):
            rows = self._predict(files=_png_files(inputs))["results"]
            return np.array([[r["probabilities"].get(label, _NAN) for label in self.labels] for r in rows])
        if self.kind == "text":
            rows = self._predict({"texts": list(inputs)})["results"]
        elif self.kind == "checklist":
            rows = self._predict({"symptoms": [list(s) for s in inputs]})["results"]
        else:
            raise AttributeError(f"'{self.name}' ({self.kind}) has no predict_proba; see its kind's methods.")
        return np.array([[r["probabilities"][label] for label in self.labels] for r in rows])

    def detect(self, inputs) -> list[dict]:
        """The image-kind router's ``detect``: per image ``{modality, probability, probabilities, model}``."""
        self._kind("modality")
        detections = []
        for row in self._predict(files=_png_files(inputs))["results"]:
            if row["error"]:
                raise InvalidInputError(row["error"])
            top = row["predicted"]
            detections.append(
                {
                    "modality": top,
                    "probability": row["probabilities"][top],
                    "probabilities": row["probabilities"],
                    "model": row["decision"],
                }
            )
        return detections

    def explain(self, item, *args, **kwargs):
        """The explanation of one input, as the in-process ``explain`` of this kind returns it
        (images: the Grad-CAM heatmap (H, W) in [0, 1] of the decided class)."""
        if args or kwargs:
            raise InvalidInputError("A remote model explains the decided class only; call explain(input).")
        if self.kind == "image":
            (row,) = self._predict(files=_png_files([item]), explain=True)["results"]
            if row["error"] or row["out_of_domain"]:
                raise InvalidInputError(row["error"] or row["warnings"][0])
            return read_png_data_url(row["explanation"]["heatmap"])
        if self.kind == "text":
            (row,) = self._predict({"texts": [item]}, explain=True)["results"]
            return [(word, weight) for word, weight in row["explanation"]["words"]]
        if self.kind == "checklist":
            return self._predict({"symptoms": [list(item)]}, explain=True)["results"][0]["explanation"]["weights"]
        if self.kind in ("survival", "dosing"):
            (row,) = self._predict({"records": _records(item)}, explain=True)["results"]
            if row["out_of_domain"]:
                raise InvalidInputError((row.get("warnings") or [row.get("reason")])[0])
            return row["explanation"]
        if self.kind == "molecule":
            (row,) = self._predict({"smiles": [item]}, explain=True)["results"]
            if row["error"] or row["out_of_domain"]:
                raise InvalidInputError(row["error"] or row["notes"][-1])
            return row["explanation"]
        raise AttributeError(f"'{self.name}' ({self.kind}) has no explain method here.")

    # -- segmentation ------------------------------------------------------------------------
    def _segmentation_result(self, row: dict) -> dict:
        if row["error"]:
            raise InvalidInputError(row["error"])
        mask = None if row["mask"] is None else (read_png_data_url(row["mask"]) >= 0.5).astype(np.uint8)
        reason = row["warnings"][0].removeprefix("Not analysed: ") if row["out_of_domain"] else None
        return {"mask": mask, "measures": row["measures"], "out_of_domain": row["out_of_domain"], "reason": reason}

    def segment(self, image) -> np.ndarray:
        """The lesion mask (H, W) in {0, 1} of one image; InvalidInputError outside the domain."""
        self._kind("segmentation")
        (result,) = self.analyse([image])
        if result["out_of_domain"]:
            raise InvalidInputError(result["reason"])
        return result["mask"]

    def measure(self, mask: np.ndarray, pixel_spacing: tuple[float, float] | None = None) -> dict:
        """Area, diameter and shape of a mask (computed here: no model is needed)."""
        from medcore.segmentation.measure import measure

        return measure(mask, pixel_spacing)

    # -- texts, records, checklists, histories, molecules, literature -------------------------
    @property
    def max_chars(self) -> int:
        """Characters of a text the model reads (text and literature models)."""
        return int(self.card["input"]["max_chars"])

    def prepare(self, text: str) -> tuple[str, list[str]]:
        """``(cleaned text, warnings)`` as the service's text model reads it (it refuses what it cannot read)."""
        self._kind("text")
        (row,) = self._predict({"texts": [text]})["results"]
        return row["cleaned"], row["warnings"]

    def differential(self, symptoms: list[str], top: int = 5) -> list[dict]:
        """The ``top`` most probable diseases of one patient."""
        self._kind("checklist")
        proba = self.predict_proba([symptoms])[0]
        order = np.argsort(-proba, kind="stable")[: max(1, int(top))]
        return [{"disease": self.labels[k], "probability": float(proba[k])} for k in order]

    def next_questions(self, symptoms: list[str], k: int = 3) -> list[dict]:
        """Up to ``k`` (at most 3 remotely) questions worth asking next."""
        self._kind("checklist")
        return self._predict({"symptoms": [list(symptoms)]})["results"][0]["next_questions"][:k]

    def triage(self, symptoms: list[str]) -> dict:
        """The severity hint of one patient's symptoms."""
        self._kind("checklist")
        return self._predict({"symptoms": [list(symptoms)]})["results"][0]["triage"]

    def assess(self, text: str = "", age=None, sex=None, symptoms=None, absent=None, ignore=None) -> dict:
        """Triage, differential, findings and next questions of one patient (the in-process ``assess``)."""
        self._kind("assessment")
        case = {"text": text, "age": age, "sex": sex, "symptoms": symptoms, "absent": absent, "ignore": ignore}
        return self._predict({key: value for key, value in case.items() if value is not None})["results"][0]

    def recommend(self, history: list[str], k: int = 10, age: float | None = None, sex: str | None = None) -> dict:
        """``{"items", "unknown", "notices"}`` for one patient's history."""
        self._kind("recommender")
        result = self._predict({"history": list(history), "k": k, "age": age, "sex": sex})
        return {key: result[key] for key in ("items", "unknown", "notices")}

    def plan(self, history: list, age=None, sex=None, location=None, lifestyle=None, k: int = 10) -> dict:
        """The care plan of one patient (the in-process ``plan``)."""
        self._kind("recommender")
        body = {"plan": True, "history": list(history), "age": age, "sex": sex, "k": k}
        body.update(
            {key: value for key, value in (("location", location), ("lifestyle", lifestyle)) if value is not None}
        )
        if isinstance(body.get("location"), tuple):
            body["location"] = list(body["location"])
        return self._predict(body)

    def where(self, location, need: str, k: int = 5) -> list[dict]:
        """The ``k`` nearest facilities for ``need`` (the in-process ``where``)."""
        self._kind("recommender")
        location = list(location) if isinstance(location, tuple) else location
        return self._predict({"where": {"location": location, "need": need, "k": k}})["results"]

    def risk(self, frame) -> np.ndarray:
        """(N,) log-hazards; NaN for patients outside the model's domain."""
        self._kind("survival")
        return np.array([r.get("risk", _NAN) for r in self.analyse(frame)], dtype=float)

    def predict_survival(self, frame) -> tuple[np.ndarray, np.ndarray]:
        """``(times, S)``; rows of patients outside the model's domain are NaN."""
        self._kind("survival")
        results = self.analyse(frame, curves=True)
        times = next((np.asarray(r["times"]) for r in results if "times" in r), np.array([]))
        rows = [np.asarray(r["survival"]) if "survival" in r else np.full(len(times), _NAN) for r in results]
        return times, np.vstack(rows) if rows else np.empty((0, len(times)))

    def predict(self, smiles: list[str]) -> np.ndarray:
        """(N, len(tasks)); NaN rows for SMILES that are invalid or outside the applicability domain."""
        self._kind("molecule")
        results = self.analyse(smiles)
        return np.array([[r["predictions"].get(t, _NAN) for t in self.tasks] for r in results], dtype=float)

    def extract(self, text: str) -> dict:
        """Entities and relations of one text (offsets into ``text``)."""
        return self.extract_many([text])[0]

    def extract_many(self, texts: list[str], title_ends: list[int] | None = None, progress=None) -> list[dict]:
        """``extract`` for each text, sent in batches of 50 (``progress`` is called with the fraction done)."""
        self._kind("literature")
        results = []
        for start in range(0, len(texts), 50):
            body = {"texts": list(texts[start : start + 50])}
            if title_ends is not None:
                body["title_ends"] = [int(t) for t in title_ends[start : start + 50]]
            results += self._predict(body)["results"]
            if progress:
                progress(min(1.0, (start + 50) / max(len(texts), 1)))
        return results

    def predict_dose(self, frame) -> np.ndarray:
        """(N,) mg/week; NaN for patients outside the model's domain."""
        self._kind("dosing")
        return np.array([_NAN if r["dose"] is None else r["dose"] for r in self.analyse(frame)], dtype=float)

    def interval(self, frame) -> np.ndarray:
        """(N, 2) 95 % dose intervals in mg/week; NaN outside the domain."""
        self._kind("dosing")
        return np.array([r["interval"] or [_NAN, _NAN] for r in self.analyse(frame)], dtype=float)

    def baselines(self, frame) -> dict[str, np.ndarray]:
        """The IWPC clinical, pharmacogenetic and fixed doses per patient."""
        self._kind("dosing")
        results = self.analyse(frame)
        return {name: np.array([r["baselines"][name] for r in results]) for name in results[0]["baselines"]}


def _records(frame) -> list[dict]:
    """Rows as JSON objects (a DataFrame, a dict, a list of dicts, CSV bytes or a CSV path; NaN -> null)."""
    import pandas as pd

    from medcore.core.tables import read_csv_bytes

    if isinstance(frame, (str, Path)) and Path(frame).is_file():
        frame = Path(frame).read_bytes()
    if isinstance(frame, (bytes, bytearray)):
        frame = read_csv_bytes("the table", bytes(frame), 100_000, "Save the rows as CSV with a header row.")
    if isinstance(frame, dict):
        frame = [frame]
    if isinstance(frame, pd.DataFrame):
        frame = frame.to_dict("records")
    if not isinstance(frame, list):
        raise InvalidInputError(f"Expected a DataFrame or a list of row dicts; got {type(frame).__name__}.")
    return [
        {str(k): (None if isinstance(v, float) and math.isnan(v) else _scalar(v)) for k, v in row.items()}
        for row in frame
    ]


def _scalar(value):
    return value.item() if isinstance(value, np.generic) else value


def _png_files(images) -> list[tuple[str, bytes]]:
    """Images (uint8 arrays (N,H,W[,3]) or a list, DecodedImage / PreparedImage) as lossless PNG parts."""
    from PIL import Image

    from medcore.imaging.decode import as_image_list

    files = []
    for index, image in enumerate(as_image_list(_originals(images))):
        buffer = io.BytesIO()
        Image.fromarray(image.pixels).save(buffer, format="PNG")
        files.append((f"{image.name or 'image'}-{index + 1}.png", buffer.getvalue()))
    return files


def _originals(images):
    """PreparedImage -> its original pixels (what the service must see, not the model-sized copy)."""
    if isinstance(images, (list, tuple)):
        return [getattr(image, "original", image) for image in images]
    return images
