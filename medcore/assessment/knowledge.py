"""The symptom-assessment knowledge tables: read them through one schema check.

The clinical knowledge lives as CSV files in ``medcore/assessment/knowledge/``, one rule or fact
per row, each with its source, so a clinician can review it without reading code:

- ``findings.csv``: the symptom vocabulary (id, plain label, the question a clinician asks,
  the lay phrases that name it, the disease_symptom columns and DDXPlus evidences it joins, and
  the broader findings it implies: crushing chest pain is chest pain);
- ``conditions.csv``: the conditions of the differential (ICD-10, DDXPlus severity 1-5, the care
  level a typical case needs, prevalence class, sex and age range, the data sets naming it);
- ``presentations.csv``: P(finding reported | condition) from textbook presentations;
- ``red_flags.csv``: triage floors (which findings, age, sex, duration -> which level, why, source).

``read_knowledge`` returns them checked: unknown fields, unknown finding or condition names,
missing sources, impossible values and duplicate ids raise ``KnowledgeError`` naming the file
and row. The trainer copies the checked tables into the bundle, so a model never reads this
folder at run time.
"""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

from medcore.assessment.extract import tolerant_pattern

__all__ = [
    "KNOWLEDGE_DIR",
    "LEVELS",
    "PREVALENCE_PRIOR",
    "KnowledgeError",
    "read_knowledge",
]

KNOWLEDGE_DIR = Path(__file__).resolve().parent / "knowledge"
LEVELS = ("self-care", "routine", "urgent", "emergency")  # least to most urgent
PREVALENCE_PRIOR = {"common": 10.0, "uncommon": 3.0, "rare": 1.0}  # relative prior odds in primary care

_COLUMNS = {
    "findings.csv": ["id", "label", "question", "patterns", "disease_symptom", "ddxplus", "implies"],
    "clinical_words.csv": ["word", "meaning", "source"],
    "conditions.csv": [
        "name",
        "icd10",
        "severity",
        "care",
        "prevalence",
        "sex",
        "min_age",
        "max_age",
        "ddxplus",
        "disease_symptom",
        "symptom2disease",
        "source",
    ],
    "presentations.csv": ["condition", "finding", "frequency", "source"],
    "red_flags.csv": [
        "id",
        "level",
        "all_of",
        "any_of",
        "none_of",
        "min_age",
        "max_age",
        "sex",
        "max_days",
        "reason",
        "source",
        "min_days",
    ],
}


class KnowledgeError(ValueError):
    """A knowledge table breaks its schema (the message names the file, row and field)."""


def _split(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(";") if part.strip()]


def _number(value: str, file: str, row: int, field: str, low: float, high: float) -> float | None:
    if value in ("", None):
        return None
    try:
        number = float(value)
    except ValueError:
        raise KnowledgeError(f"{file} row {row}: {field} {value!r} is not a number.") from None
    if not low <= number <= high:
        raise KnowledgeError(f"{file} row {row}: {field} {number} is outside {low}-{high}.")
    return number


def _one_of(row: dict, field: str, allowed: tuple, where: str) -> None:
    if row[field] not in allowed:
        raise KnowledgeError(f"{where}: {field} {row[field]!r} is not one of {list(allowed)}.")


def _rows(folder: Path, file: str) -> list[dict]:
    path = folder / file
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != _COLUMNS[file]:
            raise KnowledgeError(f"{file}: columns {reader.fieldnames} differ from the schema {_COLUMNS[file]}.")
        rows = list(reader)
    for number, row in enumerate(rows, start=2):
        if None in row or any(value is None for value in row.values()):
            raise KnowledgeError(f"{file} row {number}: wrong number of fields (quote fields holding commas).")
    return rows


def read_knowledge(folder: Path | str = KNOWLEDGE_DIR) -> dict:
    """The knowledge tables, checked and parsed.

    Returns:
        ``{'findings': [...], 'conditions': [...], 'presentations': [...], 'red_flags': [...],
        'clinical_words': [...]}`` (clinicians' abbreviations the language check accepts),
        each a list of dicts with typed values (lists for ``;``-separated fields, floats or None).

    Raises:
        KnowledgeError: a table breaks the schema (the message names file, row and field).
    """
    folder = Path(folder)
    findings = []
    for number, row in enumerate(_rows(folder, "findings.csv"), start=2):
        if not re.fullmatch(r"[a-z][a-z0-9_]*", row["id"]):
            raise KnowledgeError(f"findings.csv row {number}: id {row['id']!r} is not snake_case.")
        if not row["label"] or not row["question"].endswith("?"):
            raise KnowledgeError(f"findings.csv row {number}: a finding needs a label and a question ending in '?'.")
        patterns = _split(row["patterns"])
        if not patterns:
            raise KnowledgeError(f"findings.csv row {number}: '{row['id']}' has no patterns.")
        for pattern in patterns:
            try:
                with warnings.catch_warnings():  # as the reader compiles it, where a warning is a mistake
                    warnings.simplefilter("error")
                    re.compile(tolerant_pattern(pattern))
            except (re.error, FutureWarning) as err:
                raise KnowledgeError(
                    f"findings.csv row {number}: pattern {pattern!r} is not a regex the reader can use ({err})."
                ) from None
        findings.append(
            {
                "id": row["id"],
                "label": row["label"],
                "question": row["question"],
                "patterns": patterns,
                "disease_symptom": _split(row["disease_symptom"]),
                "ddxplus": _split(row["ddxplus"]),
                "implies": _split(row["implies"]),
            }
        )
    finding_ids = [f["id"] for f in findings]
    if len(set(finding_ids)) != len(finding_ids):
        raise KnowledgeError("findings.csv: duplicate finding ids.")
    known_findings = set(finding_ids)
    for finding in findings:  # "implies" is a hierarchy (crushing chest pain -> chest pain): known ids, no cycles
        unknown = [name for name in finding["implies"] if name not in known_findings]
        if unknown:
            raise KnowledgeError(f"findings.csv: '{finding['id']}' implies unknown findings {unknown}.")
    parents = {f["id"]: f["implies"] for f in findings}
    for start in parents:
        seen, todo = set(), list(parents[start])
        while todo:
            name = todo.pop()
            if name == start:
                raise KnowledgeError(f"findings.csv: '{start}' implies itself through {sorted(seen)}.")
            if name not in seen:
                seen.add(name)
                todo += parents[name]

    conditions = []
    for number, row in enumerate(_rows(folder, "conditions.csv"), start=2):
        where = f"conditions.csv row {number}"
        _one_of(row, "care", LEVELS, where)
        _one_of(row, "prevalence", tuple(PREVALENCE_PRIOR), where)
        _one_of(row, "sex", ("any", "female", "male"), where)
        if not row["source"] or not row["icd10"] or not row["name"]:
            raise KnowledgeError(f"{where}: a condition needs a name, an ICD-10 code and a source.")
        conditions.append(
            {
                "name": row["name"],
                "icd10": row["icd10"],
                "severity": int(_number(row["severity"], "conditions.csv", number, "severity", 1, 5)),
                "care": row["care"],
                "prevalence": row["prevalence"],
                "sex": row["sex"],
                "min_age": _number(row["min_age"], "conditions.csv", number, "min_age", 0, 120) or 0.0,
                "max_age": _number(row["max_age"], "conditions.csv", number, "max_age", 0, 120) or 120.0,
                "ddxplus": row["ddxplus"].strip(),
                "disease_symptom": row["disease_symptom"],
                "symptom2disease": row["symptom2disease"].strip(),
                "source": row["source"],
            }
        )
    names = [c["name"] for c in conditions]
    if len(set(names)) != len(names):
        raise KnowledgeError("conditions.csv: duplicate condition names.")
    known_conditions = set(names)

    presentations = []
    seen = set()
    for number, row in enumerate(_rows(folder, "presentations.csv"), start=2):
        where = f"presentations.csv row {number}"
        if row["condition"] not in known_conditions:
            raise KnowledgeError(f"{where}: unknown condition {row['condition']!r}.")
        if row["finding"] not in known_findings:
            raise KnowledgeError(f"{where}: unknown finding {row['finding']!r}.")
        if (row["condition"], row["finding"]) in seen:
            raise KnowledgeError(f"{where}: ({row['condition']}, {row['finding']}) is listed twice.")
        if not row["source"]:
            raise KnowledgeError(f"{where}: no source.")
        seen.add((row["condition"], row["finding"]))
        presentations.append(
            {
                "condition": row["condition"],
                "finding": row["finding"],
                "frequency": _number(row["frequency"], "presentations.csv", number, "frequency", 0.01, 0.99),
                "source": row["source"],
            }
        )

    red_flags = []
    for number, row in enumerate(_rows(folder, "red_flags.csv"), start=2):
        where = f"red_flags.csv row {number}"
        _one_of(row, "level", LEVELS, where)
        named = _split(row["all_of"]) + _split(row["any_of"]) + _split(row["none_of"])
        unknown = [name for name in named if name not in known_findings]
        if unknown:
            raise KnowledgeError(f"{where}: unknown findings {unknown}.")
        if not row["reason"] or not row["source"]:
            raise KnowledgeError(f"{where}: a rule needs a reason and a source.")
        rule = {
            "id": row["id"],
            "level": row["level"],
            "all_of": _split(row["all_of"]),
            "any_of": _split(row["any_of"]),
            "none_of": _split(row["none_of"]),
            "min_age": _number(row["min_age"], "red_flags.csv", number, "min_age", 0, 120),
            "max_age": _number(row["max_age"], "red_flags.csv", number, "max_age", 0, 120),
            "sex": row["sex"] or None,
            "max_days": _number(row["max_days"], "red_flags.csv", number, "max_days", 0, 36500),
            "min_days": _number(row["min_days"], "red_flags.csv", number, "min_days", 0, 36500),
            "reason": row["reason"],
            "source": row["source"],
        }
        if not (rule["all_of"] or rule["any_of"] or rule["min_days"] is not None):
            raise KnowledgeError(f"{where}: the rule names no finding and no duration, so it would always fire.")
        if set(rule["all_of"]) & set(rule["none_of"]):
            raise KnowledgeError(f"{where}: a finding is both required and excluded, so the rule can never fire.")
        red_flags.append(rule)
    ids = [rule["id"] for rule in red_flags]
    if len(set(ids)) != len(ids):
        raise KnowledgeError("red_flags.csv: duplicate rule ids.")
    clinical_words = []
    for number, row in enumerate(_rows(folder, "clinical_words.csv"), start=2):
        if not re.fullmatch(r"[a-z]+", row["word"]) or not row["source"]:
            raise KnowledgeError(f"clinical_words.csv row {number}: a lower-case word and a source are needed.")
        clinical_words.append({"word": row["word"], "meaning": row["meaning"], "source": row["source"]})
    return {
        "findings": findings,
        "conditions": conditions,
        "presentations": presentations,
        "red_flags": red_flags,
        "clinical_words": clinical_words,
    }
