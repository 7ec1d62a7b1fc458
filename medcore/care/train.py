"""Train the care recommender on a Synthea export: fit every candidate, validate on held-out patients, ship a blend.

Every candidate (popularity, age-band popularity, item-kNN, user-kNN, sequential item-kNN, EASE)
is closed-form, so training is deterministic and takes seconds. Validation is a seeded K-fold over
*patients*: each fold's model is fitted on the other patients' full timelines and scored on the
held-out patients with the temporal protocol of ARCHITECTURE.md. The shipped model blends the
normalised components; its weights are picked from a small grid by the same K-fold CV, and the
figure reported for it comes from a nested CV (weights picked inside each outer training fold),
so no held-out patient influenced the choice that is scored on it.
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from medcore.care.collaborative import COMPONENTS, RecommenderScorer, normalise_scores
from medcore.care.data import (
    ENCOUNTER_BOUND_SHARE,
    SERVICE_KINDS,
    Timelines,
    find_synthea_folder,
    folder_sha256,
    load_synthea,
    temporal_queries,
    timelines,
)
from medcore.care.evaluate import evaluate_plan_cases, per_patient_at, ranking_intervals, ranking_metrics
from medcore.care.guidelines import TABLES, care_gaps, read_tables
from medcore.care.model import MODEL_FORMAT, CareRecommender
from medcore.care.places import NEEDS, Directory, build_directory
from medcore.care.plan import DIRECTORY_LACKS, CarePlanner
from medcore.core.bundle import write_bundle
from medcore.core.uncertainty import with_intervals

__all__ = ["SETTINGS", "BLEND_GRID", "fit_parameters", "cross_validate", "train_recommender_model"]

SETTINGS: dict[str, float] = {
    "sequential_horizon_years": 10.0,  # an item counts as following another within 10 years
    "age_horizon_years": 5.0,  # age-band popularity: items first received in the next 5 years
    "ease_lambda": 50.0,
    "user_k": 40,
    "similar_patients": 15,  # neighbours counted in the reasons
    "sex_min_patients": 3,  # an item seen in >= 3 patients, none of one sex, is not offered to that sex
}
# Blend weights searched (the sequential item-kNN always weighs 1).
BLEND_GRID = {
    "sequential-knn": (1.0,),
    "age-popularity": (0.0, 0.5, 1.0),
    "ease": (0.0, 0.5, 1.0),
    "user-knn": (0.0, 0.5),
}
FOLDS = 5
KS = list(range(1, 21))


def fit_parameters(cohort: Timelines, settings: dict = SETTINGS) -> dict[str, np.ndarray]:
    """Every candidate's parameters from training timelines.

    Returns:
        ``first_age`` float32 (P, I), ``end_age`` float32 (P,), ``sex`` int8 (P,),
        ``sequential_counts`` uint16 (I, I) (patients who first had column j 0 to
        ``sequential_horizon_years`` years after first having row i), ``ease`` float32 (I, I)
        and ``item_cosine`` float32 (I, I).
    """
    first_day = cohort.first_day
    matrix = (~np.isnan(first_day)).astype(np.float64)
    n_items = len(cohort.items)
    horizon_days = settings["sequential_horizon_years"] * 365.25
    counts = np.zeros((n_items, n_items), dtype=np.int64)
    for days in first_day:
        have = np.flatnonzero(~np.isnan(days))
        gap = days[have][None, :] - days[have][:, None]  # (from, to) in days
        counts[np.ix_(have, have)] += (gap >= 0) & (gap <= horizon_days)
    np.fill_diagonal(counts, 0)
    gram = matrix.T @ matrix
    inverse = np.linalg.inv(gram + settings["ease_lambda"] * np.eye(n_items))
    ease = -inverse / np.diag(inverse)
    np.fill_diagonal(ease, 0.0)
    norms = np.sqrt(np.diag(gram))
    cosine = np.divide(gram, np.outer(norms, norms), out=np.zeros_like(gram), where=np.outer(norms, norms) > 0)
    np.fill_diagonal(cosine, 0.0)
    return {
        "first_age": cohort.first_age.astype(np.float32),
        "end_age": cohort.end_age.astype(np.float32),
        "sex": np.array([{"F": 0, "M": 1}.get(s, -1) for s in cohort.sex], dtype=np.int8),
        "sequential_counts": counts.astype(np.uint16),
        "ease": ease.astype(np.float32),
        "item_cosine": cosine.astype(np.float32),
    }


def _fold_of(n_patients: int, folds: int, seed: int) -> np.ndarray:
    order = np.random.default_rng(seed).permutation(n_patients)
    fold = np.empty(n_patients, dtype=int)
    fold[order] = np.arange(n_patients) % folds
    return fold


def _held_out_scores(cohort: Timelines, rows: np.ndarray, queries: list, folds: int, seed: int) -> list[dict]:
    """Normalised component scores of each query, from a model fitted without its patient.

    ``rows`` are the cohort rows in play; ``queries`` refer to cohort rows among them. Returns,
    per query: ``candidates`` (with the sex filter), ``plain`` (without it) and ``parts``
    (component -> normalised scores over ``plain``).
    """
    fold = dict(zip(rows.tolist(), _fold_of(len(rows), folds, seed).tolist()))
    out: list[dict | None] = [None] * len(queries)
    for f in range(folds):
        train_rows = np.array([r for r in rows if fold[r] != f])
        scorer = RecommenderScorer(cohort.items, fit_parameters(cohort.subset(train_rows)), SETTINGS, cohort.excluded)
        for position, query in enumerate(queries):
            if fold[query.patient] != f:
                continue
            history = np.array([scorer.index[item] for item in query.history], dtype=int)
            plain = scorer.candidates(history)
            sims = scorer.similarities(history)
            parts = {
                name: normalise_scores(scorer.component(name, history, query.age, sims), plain) for name in COMPONENTS
            }
            out[position] = {
                "candidates": scorer.candidates(history, query.sex or None),
                "plain": plain,
                "parts": parts,
            }
    return out


def _ranked(scores: np.ndarray, candidates: np.ndarray, items: list[str], k: int = 20) -> list[str]:
    order = np.argsort(-np.where(candidates, scores, -np.inf), kind="stable")[: min(k, int(candidates.sum()))]
    return [items[j] for j in order]


def _blend_rankings(scored: list[dict], weights: dict[str, float], items: list[str], k: int = 50) -> list[list[str]]:
    """The blend's top ``k`` per held-out patient (50, the most ``plan`` filters from)."""
    total = sum(weights.values())
    return [
        _ranked(sum(w * s["parts"][name] for name, w in weights.items() if w > 0) / total, s["candidates"], items, k)
        for s in scored
    ]


def _grid() -> list[dict[str, float]]:
    names = list(BLEND_GRID)
    combos = [dict(zip(names, values)) for values in itertools.product(*BLEND_GRID.values())]
    # Simplest first, so a tie keeps the blend with fewer components.
    return sorted(combos, key=lambda w: (sum(v > 0 for v in w.values()), sum(w.values())))


def _select_weights(scored: list[dict], targets: list[list[str]], items: list[str]) -> tuple[dict, list[dict]]:
    best, table = None, []
    for weights in _grid():
        figures = ranking_metrics(_blend_rankings(scored, weights, items), targets, [10])
        table.append({"weights": weights, "ndcg@10": figures["ndcg@10"], "hr@10": figures["hr@10"]})
        if best is None or figures["ndcg@10"] > best[1] + 1e-12:
            best = (weights, figures["ndcg@10"])
    return best[0], table


def cross_validate(cohort: Timelines, folds: int = FOLDS, seed: int = 0, progress=None) -> dict:
    """K-fold CV over patients of every candidate and of the blend (nested weight choice).

    Args:
        cohort: timelines of every patient.
        folds: number of patient folds.
        seed: seed of the patient permutation.
        progress: optional callable taking a message.

    Returns:
        ``n``, ``skipped``, ``candidates`` (name -> HR/NDCG/recall at k = 1..20), ``blend_weights``
        (chosen on all folds), ``selection`` (the grid's CV figures), ``nested_weights`` (per outer
        fold) and ``per_kind`` (hit rate of the blend per target kind).
    """
    queries, skipped = temporal_queries(cohort)
    targets = [query.targets for query in queries]
    rows = np.arange(len(cohort.patients))
    say = progress or (lambda message: None)
    say(f"{len(queries)} patients in the protocol; {folds}-fold CV over {len(rows)} patients")
    scored = _held_out_scores(cohort, rows, queries, folds, seed)
    candidates = {
        name: ranking_metrics([_ranked(s["parts"][name], s["plain"], cohort.items) for s in scored], targets, KS)
        for name in COMPONENTS
    }
    weights, selection = _select_weights(scored, targets, cohort.items)
    candidates["blend (weights chosen on these folds)"] = ranking_metrics(
        _blend_rankings(scored, weights, cohort.items), targets, KS
    )
    # Nested: choose the weights by an inner CV on each outer fold's training patients only.
    outer = _fold_of(len(rows), folds, seed)
    nested_rankings: list[list[str] | None] = [None] * len(queries)
    nested_weights = []
    for f in range(folds):
        inner_rows = rows[outer != f]
        inner_queries = [q for q in queries if outer[q.patient] != f]
        inner_scored = _held_out_scores(cohort, inner_rows, inner_queries, folds, seed + 1)
        chosen, _ = _select_weights(inner_scored, [q.targets for q in inner_queries], cohort.items)
        nested_weights.append(chosen)
        test = [i for i, q in enumerate(queries) if outer[q.patient] == f]
        for i, ranked in zip(test, _blend_rankings([scored[i] for i in test], chosen, cohort.items)):
            nested_rankings[i] = ranked
        say(f"outer fold {f + 1}/{folds}: weights {chosen}")
    candidates["blend"] = ranking_metrics(nested_rankings, targets, KS)
    per_kind: dict[str, list[int]] = {kind: [0, 0] for kind in SERVICE_KINDS}
    for ranked, wanted in zip(nested_rankings, targets):
        for item in wanted:
            kind = item.split(":", 1)[0]
            per_kind[kind][0] += item in ranked[:10]
            per_kind[kind][1] += 1
    popularity_rankings = [_ranked(s["parts"]["popularity"], s["plain"], cohort.items) for s in scored]
    return {
        "n": len(queries),
        "skipped": skipped,
        "queries": queries,
        "rankings": nested_rankings,
        "popularity_rankings": popularity_rankings,
        "candidates": candidates,
        "blend_weights": weights,
        "selection": selection,
        "nested_weights": nested_weights,
        "per_kind": {
            kind: {"targets": total, "in_top_10": hit, "rate": hit / total if total else None}
            for kind, (hit, total) in per_kind.items()
        },
    }


def _iso(day: float) -> str:
    return str(np.datetime64("1970-01-01") + np.timedelta64(int(day), "D"))


def _home_and_doses(folder: Path) -> tuple[dict[str, list[float]], dict[str, list[list[str]]]]:
    """Each patient's home (LAT/LON rounded to 0.01 degree, about 1 km) and every immunization dose with its date."""
    import pandas as pd

    homes, doses = {}, {}
    patients = pd.read_csv(Path(folder) / "patients.csv", dtype=str, keep_default_na=False)
    if {"LAT", "LON"} <= set(patients.columns):
        for pid, lat, lon in zip(patients["Id"], patients["LAT"], patients["LON"]):
            try:
                homes[pid] = [round(float(lat), 2), round(float(lon), 2)]
            except ValueError:
                continue
    path = Path(folder) / "immunizations.csv"
    if path.is_file():
        shots = pd.read_csv(path, dtype=str, keep_default_na=False)
        for pid, code, when in sorted(zip(shots["PATIENT"], shots["CODE"], shots["DATE"]), key=lambda row: row[2]):
            doses.setdefault(pid, []).append([f"immunization:{code}", when[:10]])
    return homes, doses


def demo_cohort(cohort: Timelines, folder: Path | None = None) -> list[dict]:
    """Pseudonymised patients for the page: ``P001``... in Synthea-id order; no names, addresses or ids.

    Each has ``id``, ``age`` (at the end of the record), ``sex``, ``deceased``, ``timeline``:
    ``[item, "YYYY-MM-DD"]`` pairs, oldest first (descriptions are in ``model.json``), and, when
    ``folder`` (the Synthea export) is given, ``as_of`` (the record's last day: its age is at that day),
    ``location`` (home to about 1 km, or None) and
    ``doses`` (every immunization with its date, for counting vaccine doses).
    """
    homes, doses = _home_and_doses(folder) if folder is not None else ({}, {})
    patients = []
    last_day = np.nanmax(cohort.first_day)
    for row in range(len(cohort.patients)):
        days = cohort.first_day[row]
        have = np.flatnonzero(~np.isnan(days))
        have = have[np.lexsort((have, days[have]))]
        patients.append(
            {
                "id": f"P{row + 1:03d}",
                "age": round(float(cohort.end_age[row]), 1),
                "sex": str(cohort.sex[row]),
                "deceased": bool(cohort.end_day[row] < last_day),
                "timeline": [[cohort.items[j], _iso(days[j])] for j in have],
                "as_of": _iso(cohort.end_day[row]),
                "location": homes.get(cohort.patients[row]),
                "doses": doses.get(cohort.patients[row], []),
            }
        )
    return patients


def _subgroups(queries: list, rankings: list[list[str]], seed: int) -> dict:
    """HR@10 and NDCG@10 with 95 % intervals by sex and by age band at the cutoff (groups of >= 5 patients)."""
    bands = {"0-17": (0, 18), "18-44": (18, 45), "45-64": (45, 65), "65+": (65, 200)}
    groups = {
        "sex": {sex: [i for i, q in enumerate(queries) if q.sex == sex] for sex in ("F", "M")},
        "age at cutoff": {
            band: [i for i, q in enumerate(queries) if low <= q.age < high] for band, (low, high) in bands.items()
        },
    }
    out: dict = {}
    for attribute, members in groups.items():
        out[attribute] = {}
        for value, rows in members.items():
            if len(rows) < 5:
                out[attribute][value] = {"n": len(rows), "note": "fewer than 5 patients: not reported"}
                continue
            chosen_rankings = [rankings[i] for i in rows]
            chosen_targets = [queries[i].targets for i in rows]
            values = per_patient_at(chosen_rankings, chosen_targets, 10)
            intervals = ranking_intervals(chosen_rankings, chosen_targets, 10, seed)
            out[attribute][value] = {
                "n": len(rows),
                **with_intervals(
                    {"hr@10": float(values["hr"].mean()), "ndcg@10": float(values["ndcg"].mean())},
                    {k: intervals[k] for k in ("hr@10", "ndcg@10")},
                ),
            }
    return out


def _figures(curve: dict) -> dict:
    return {key: curve[key] for key in ("hr@10", "ndcg@10", "recall@10")}


def facilities_folder(data_path: Path, synthea: Path) -> Path | None:
    """``facilities/`` beside the Synthea folder or under the data root (None when absent)."""
    for candidate in (Path(data_path) / "facilities", Path(synthea).parent / "facilities"):
        if (candidate / "hospitals.csv").is_file():
            return candidate
    return None


def filtered_rankings(rankings: list[list[str]], queries: list, planner: CarePlanner, descriptions: dict) -> list:
    """The held-out rankings after the care-plan rules (what ``plan`` shows as "next")."""
    filtered = []
    for ranked, query in zip(rankings, queries):
        patient = planner.patient([(item, None) for item in query.history], query.age, query.sex, {})
        gaps = care_gaps(patient, planner.tables, planner.groups)
        entries = [{"item": item, "description": descriptions[item], "reason": ""} for item in ranked]
        kept, _ = planner.filter_suggestions(entries, patient, gaps, 10)
        filtered.append([entry["item"] for entry in kept])
    return filtered


def train_recommender_model(
    name: str,
    data_path: Path,
    epochs: int | None = None,
    seed: int = 0,
    out_dir: Path | None = None,
    command: str = "",
) -> Path:
    """Validate every candidate, fit the blend on every patient and write the recommender bundle.

    Args:
        name: the model name (``care-recommender``).
        data_path: the Synthea CSV folder, or the data root holding ``synthea_unmc/``.
        epochs: unused (every candidate is closed-form); kept for the common train signature.
        seed: seed of the patient folds.
        out_dir: bundle folder (default ``models/<name>``).
        command: the command line, recorded in the card.

    Returns:
        The bundle folder.

    Raises:
        InvalidInputError: the folder is not a usable Synthea export.
    """
    from medcore.core.settings import models_dir

    started = time.time()
    folder = find_synthea_folder(data_path)
    data = load_synthea(folder)
    cohort = timelines(data)

    def say(message: str) -> None:
        print(f"[{name}] {message}", file=sys.stderr, flush=True)

    validation = cross_validate(cohort, FOLDS, seed, say)
    weights = validation["blend_weights"]
    parameters = fit_parameters(cohort)
    # What the blend and its reasons use: the patients' first ages and the sequential counts
    # always, a component matrix only when its weight is not zero.
    needed = ["first_age", "end_age", "sex", "sequential_counts"] + (["ease"] if weights.get("ease", 0) > 0 else [])
    shipped = {key: parameters[key] for key in needed}
    service_items = [
        item for item in cohort.items if item.split(":", 1)[0] in SERVICE_KINDS and item not in cohort.excluded
    ]
    excluded = [
        {"item": item, "description": data.descriptions[item], "share_ended_in_visit": data.encounter_bound[item]}
        for item in cohort.excluded
    ]
    targets = [query.targets for query in validation["queries"]]
    intervals = ranking_intervals(validation["rankings"], targets, 10, seed)
    popularity_intervals = ranking_intervals(validation["popularity_rankings"], targets, 10, seed)
    model_json = {
        "format": MODEL_FORMAT,
        "weights": weights,
        "settings": SETTINGS,
        "items": [
            {
                "item": item,
                "kind": item.split(":", 1)[0],
                "code": item.split(":", 1)[1],
                "description": data.descriptions[item],
            }
            for item in cohort.items
        ],
        "excluded_items": excluded,
    }
    tables = read_tables()
    facilities = facilities_folder(data_path, folder)
    places = build_directory(facilities, folder) if facilities is not None else None
    planner = CarePlanner(tables, Directory(places) if places is not None else None)
    demo = demo_cohort(cohort, folder)
    scorer = RecommenderScorer(cohort.items, shipped, SETTINGS, cohort.excluded)
    cases = evaluate_plan_cases(CareRecommender(scorer, model_json, demo, {"name": name}, planner))
    say(
        f"outpatient cases (n={cases['n_cases']}): guideline items present {cases['present']}/{cases['expected']}, "
        f"forbidden shown {cases['forbidden_shown']}"
    )
    filtered = filtered_rankings(validation["rankings"], validation["queries"], planner, data.descriptions)
    filtered_figures = ranking_metrics(filtered, targets, [10])
    filtered_intervals = ranking_intervals(filtered, targets, 10, seed)
    curves = validation["candidates"]
    blend = curves["blend"]
    baselines = {key: _figures(curves[key]) for key in COMPONENTS}
    baselines["blend (weights chosen on these folds)"] = _figures(curves["blend (weights chosen on these folds)"])
    split = (
        f"{FOLDS}-fold cross-validation over patients (seed {seed}); each fold's model fitted on the other "
        "patients' full timelines and scored on the held-out patients with the temporal protocol (history "
        "before the 80th-percentile cutoff of their service items, targets at or after it); blend weights "
        "chosen by a nested inner CV"
    )
    wall_time = time.time() - started
    card = {
        "name": name,
        "version": "2.0.0",
        "kind": "recommender",
        "task": "Care plan: what next (guideline care gaps and filtered suggestions), how to live, where to go",
        "description": "A care plan in three parts. What next: guideline care gaps from a table of rules (ADA, "
        "USPSTF, ACIP, ACC/AHA, KDIGO, GINA, GOLD, falls) with their status, and a collaborative filter over "
        "patients x items that ranks the services similar patients received next, filtered by a table of "
        "rules (never peri-operative steps, administrative codes, contraindicated or duplicate items). How "
        "to live: advice by condition and lifestyle, each with its reason and source. Where to go: the "
        "nearest right facilities of the US facility directory by great-circle distance.",
        "intended_use": "Decision support for clinicians reviewing a patient's record in primary care: the "
        "guideline screenings, vaccines and chronic-disease checks that are due, services that similar patients "
        "usually received next (after rules that remove what must never be offered), lifestyle advice with its "
        "reasons, and the nearest right place of care; to be checked against the patient's situation.",
        "out_of_scope_use": "Ordering, prescribing or withholding care automatically; diagnosis; choosing doses; "
        "emergency dispatch (call 911); real patients' care without local validation of the rules and the "
        "suggestions (the collaborative filter learnt from 111 synthetic Synthea patients).",
        "labels": service_items,
        "input": {
            "type": "list of item ids '<kind>:<code>' (Synthea CODE), conditions included",
            "kinds": ["procedure", "medication", "immunization", "careplan", "condition"],
            "items_known": len(cohort.items),
            "services_recommendable": len(service_items),
            "age": "years, optional (float, 0-125)",
            "sex": "'F' or 'M' ('female'/'male' accepted), optional",
            "k": "1-50",
        },
        "preprocessing": {
            "history": "deduplicated; ids unknown to the model are reported back in 'unknown' and not used",
            "scores": "each component min-max normalised over the candidate services, then a weighted mean",
            "candidates": "service items seen in training, not in the history; with sex given, items that only "
            f"the other sex ever had (seen in >= {SETTINGS['sex_min_patients']} patients) are left out; "
            "encounter-bound medications are never recommended (see 'excluded')",
            "empty history": "age/sex-aware popularity with a notice",
        },
        "architecture": {
            "blend_weights": weights,
            "components": {
                "sequential-knn": "sum over history items i of #(patients who first had j within "
                f"{SETTINGS['sequential_horizon_years']:.0f} years after i) / sqrt(n_i n_j)",
                "age-popularity": f"patients observed at that age who first had the item within "
                f"{SETTINGS['age_horizon_years']:.0f} years",
                "ease": f"EASE (Steck 2019), closed-form item-item ridge, lambda {SETTINGS['ease_lambda']:.0f}",
                "user-knn": f"cosine over patients x items, {SETTINGS['user_k']} neighbours",
                "item-knn": "cosine over patients x items (candidate only)",
                "popularity": "patients who had the item (baseline)",
            },
            "settings": SETTINGS,
        },
        "operating_point": {"k": 10, "rule": "the top k candidates by blended score"},
        "excluded": {
            "rule": f"medications whose uses ended inside the visit that started them in >= {ENCOUNTER_BOUND_SHARE:.0%} "
            "of cases (medications.csv STOP <= encounters.csv STOP of its ENCOUNTER): drugs given during a "
            "procedure or stay (anaesthetics, neuromuscular blockers, IV sedatives and opioids, procedural "
            "heparin, infusions) belong to that procedure and are not recommended on their own; derived from "
            "the data, not a hand list. They still count in histories and as evaluation targets.",
            "applied": bool(data.encounter_bound),
            "items": excluded,
        },
        "calibration": {
            "method": "none: scores are blended, normalised ranks in [0, 1], not probabilities; predict_proba "
            "divides them by their sum so rows sum to 1",
        },
        "training": {
            "dataset": "Synthea synthetic EHR export, 111 patients (UNMC-CRANE/database-stats-lecture csv/)",
            "data_file": "synthea_unmc/",
            "data_sha256": folder_sha256(folder),
            "split": split,
            "seed": seed,
            "epochs": "- (closed form)",
            "patients": len(cohort.patients),
            "wall_time_s": wall_time,
            "command": command,
        },
        "metrics": {
            "validation": {
                "split": split,
                "n": validation["n"],
                **with_intervals(
                    {"hr@10": blend["hr@10"], "ndcg@10": blend["ndcg@10"], "recall@10": blend["recall@10"]}, intervals
                ),
                "popularity hr@10": baselines["popularity"]["hr@10"],
                "popularity hr@10_ci95": [round(b, 6) for b in popularity_intervals["hr@10"]],
                "popularity ndcg@10": baselines["popularity"]["ndcg@10"],
                "popularity ndcg@10_ci95": [round(b, 6) for b in popularity_intervals["ndcg@10"]],
                "baselines": baselines,
                "subgroups": _subgroups(validation["queries"], validation["rankings"], seed),
            },
        },
        "care_plan": {
            "rules": {table: len(tables[table]) for table in TABLES},
            "sources": len({row["source"] for rows in tables.values() for row in rows}),
            "rule_files": "rules.json (copied from medcore/care/tables/*.csv; one source per row)",
            "outpatient_cases": {
                "what": f"{cases['n_cases']} outpatient cases written by the team from the guideline texts (medcore/care/"
                "cases/outpatients.json), scored with plan(); written by the same people who wrote the rules, so a "
                "check of the rules' coverage and consistency, not an independent test",
                **{key: value for key, value in cases.items()},
            },
            "filtered_validation": {
                "what": "the nested-CV held-out rankings (top 50, as plan() asks the filter for) after the care-plan "
                "rules, as plan() shows them under 'next'",
                "n": validation["n"],
                **with_intervals(
                    {"hr@10": filtered_figures["hr@10"], "ndcg@10": filtered_figures["ndcg@10"]},
                    {key: filtered_intervals[key] for key in ("hr@10", "ndcg@10")},
                ),
            },
            "directory": {
                "source": "shared/data/facilities (CMS / HRSA lists packaged with Synthea) and synthea_unmc/"
                "providers.csv (general practice, Nebraska)",
                "facilities": None
                if places is None
                else {kind: int((places["kind"] == kind).sum()) for kind in dict.fromkeys(places["kind"].tolist())},
                "needs": list(NEEDS),
                "distance": "haversine on a scikit-learn BallTree (Earth radius 6371 km)",
                "lacks": DIRECTORY_LACKS,
            },
        },
        "anchors": {
            "note": "measured on unseen Synthea patients by the project brief (HR@10 / NDCG@10)",
            "popularity": [0.78, 0.38],
            "item-knn cosine": [0.88, 0.49],
            "user-knn cosine": [0.93, 0.50],
        },
        "limitations": [
            f"Trained and validated on {len(cohort.patients)} synthetic Synthea patients from one simulated state: "
            "it learns Synthea's care modules, not real practice; validate locally before any real use.",
            f"Validation n = {validation['n']} patients: figures carry an uncertainty of several points.",
            "No calendar time is used: services introduced recently (e.g. COVID-19 vaccines) are suggested from "
            "their popularity in the training data, whatever the date.",
            "The collaborative filter reads the history as a set of items without dates, so a service had long ago "
            "counts like a recent one; the care gaps do use dates, and say 'overdue' only when a dated record "
            "shows the interval has passed (an undated record counts as done, and says so).",
            "The rules cover the listed guideline families, in a simplified form: no 10-year cardiovascular risk is "
            "computed (no lipid or blood-pressure values are read), test results are not read (an HbA1c in the "
            "record closes the gap whatever its value), risk-based vaccine indications are reduced to the listed "
            "conditions, and the pneumococcal and hepatitis B series are counted as doses, not by product.",
            "Synthea exports here carry no observations (observations.csv is absent), so HbA1c, eGFR, urine "
            "albumin and eye or foot examinations always show as due for the demo patients.",
            "The written outpatient cases were written by the people who wrote the rules: they check coverage and "
            "consistency, not independent accuracy.",
            "The filter removes services Synthea patients really received next (administrative codes, inpatient "
            "steps, acute treatments): held-out HR@10 of what the plan shows is lower than the raw filter's.",
            "The facility directory is a snapshot packaged with Synthea (date not stated): no pharmacies, opening "
            "hours or waiting times; doctors only for the Synthea area (Nebraska, general practice); some "
            "facilities share a ZIP or city centroid; a ZIP code or city is placed at the median of its facilities.",
            "Acute episodes (infections, injuries, hospital stays) and end-of-life care are hard to foresee from "
            "a history and are often missed.",
            "The demo patients are part of the training data.",
        ],
        "ethical_considerations": [
            "Decision support, not a diagnosis or an order: a clinician decides what care a patient needs.",
            "It recommends what similar patients received, which reproduces the patterns (and any gaps or "
            "biases) of the simulated care, not what guidelines say is best.",
            "The demo cohort is synthetic and stored pseudonymised (P001...), without names, addresses, "
            "identifiers or birth dates; a home is kept only to about 1 km (coordinates rounded to 0.01 degree).",
            "The advice is general guideline advice written for this patient's stated values, not an individual "
            "prescription; every line names its source so a clinician can check it.",
        ],
        "data_licence": "Synthea output (Apache-2.0 generator); copied from UNMC-CRANE/database-stats-lecture (MIT)",
    }
    evaluation = {
        "split": split,
        "n": validation["n"],
        "skipped": validation["skipped"],
        "k": KS,
        "shipped": "blend",
        "curves": {
            key: {metric: [curve[f"{metric}@{k}"] for k in KS] for metric in ("hr", "ndcg", "recall")}
            for key, curve in curves.items()
        },
        "blend_weights": weights,
        "nested_weights": validation["nested_weights"],
        "selection": validation["selection"],
        "per_kind": validation["per_kind"],
    }
    out_dir = Path(out_dir) if out_dir else models_dir() / name
    with tempfile.TemporaryDirectory() as tmp:
        files = ("model.npz", "model.json", "cohort.json", "rules.json") + (("places.npz",) if places else ())
        staged = {name_: Path(tmp) / name_ for name_ in files}
        np.savez_compressed(staged["model.npz"], **shipped)
        staged["model.json"].write_text(json.dumps(model_json, indent=1) + "\n", encoding="utf-8")
        staged["cohort.json"].write_text(json.dumps(demo, separators=(",", ":")) + "\n", encoding="utf-8")
        staged["rules.json"].write_text(json.dumps(tables, indent=0) + "\n", encoding="utf-8")
        if places:
            np.savez_compressed(staged["places.npz"], **places)
        say(
            f"validation (nested CV, n={validation['n']}): HR@10 {blend['hr@10']:.3f}, NDCG@10 "
            f"{blend['ndcg@10']:.3f}, recall@10 {blend['recall@10']:.3f}; wall time {time.time() - started:.1f} s"
        )
        return write_bundle(out_dir, card, evaluation, staged)
