"""``python -m medcore models|train|evaluate|predict|serve``: the command line over the same API.

Errors that medcore raises on purpose are printed as one line on stderr (exit 2); nothing
prints a traceback for bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from medcore.core.cards import headline_metric
from medcore.core.errors import InvalidInputError, MedcoreError

__all__ = ["main"]


def _cmd_models(args) -> int:
    from medcore.core.registry import list_models

    cards = list_models()
    if args.json:
        print(
            json.dumps(
                [
                    {"name": c["name"], "task": c["task"], "version": c["version"], "metrics": c["metrics"]}
                    for c in cards
                ],
                indent=1,
            )
        )
        return 0
    if not cards:
        print("No models found. Train one with `python -m medcore train MODEL --data PATH`.")
    for card in cards:
        print(f"{card['name']:<20} {card['task']}\n{'':<20} {headline_metric(card)}")
    return 0


def _cmd_train(args) -> int:
    from medcore.core.registry import CAPABILITIES, trainer, verify_bundle

    data = args.data or os.environ.get("MEDCORE_DATA_DIR")
    if not data:
        raise InvalidInputError("No training data: pass --data PATH (or set MEDCORE_DATA_DIR).")
    train = trainer(args.model)
    options = {"members": args.members} if args.members and args.model in CAPABILITIES["image"].models else {}
    command = "python -m medcore " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["train"] else ""
    path = train(
        args.model, Path(data), epochs=args.epochs, seed=args.seed, out_dir=args.out, command=command, **options
    )
    print(f"wrote {path}\n{headline_metric(verify_bundle(path))}")
    return 0


def _cmd_evaluate(args) -> int:
    from medcore import load_model
    from medcore.core.evaluate import evaluate, load_labelled

    model = load_model(args.model)
    if model.kind == "recommender":
        return _evaluate_recommender(model, args)
    if model.kind == "survival":
        return _evaluate_survival(model, args)
    if model.kind == "molecule":
        return _evaluate_molecules(model, args)
    if model.kind == "literature":
        return _evaluate_literature(model, args)
    if model.kind == "dosing":
        return _evaluate_dosing(model, args)
    if model.kind == "assessment":
        return _evaluate_assessment(model, args)
    inputs, names, y_true = load_labelled(model, args.path, args.split)
    result = evaluate(model, inputs, y_true, names)
    figures = ("accuracy", "auc", "macro_f1", "ece", "brier")
    headline = {k: result[k] for k in ("model", "n", *figures)}
    point = result.get("operating_point")
    if args.json:
        headline.update({f"{k}_ci95": result.get(f"{k}_ci95") for k in figures})
        headline.update(confusion_matrix=result["confusion_matrix"], per_class=result["per_class"])
        print(json.dumps({**headline, **({"operating_point": point} if point else {})}))
        return 0
    for key, value in headline.items():
        interval = result.get(f"{key}_ci95")
        bounds = f"  (95 % CI {interval[0]:.4f}-{interval[1]:.4f})" if interval and None not in interval else ""
        print(f"{key:<10} {value:.4f}{bounds}" if isinstance(value, float) else f"{key:<10} {value}")
    if point:
        print(
            f"at the shipped threshold {point['threshold']:.3f} on P({point['positive_label']}): "
            f"sensitivity {point['sensitivity']:.4f}, specificity {point['specificity']:.4f}"
        )
    return 0


def _evaluate_assessment(model, args) -> int:
    """Triage and differential figures on a vignette CSV (text, age, sex, triage, diagnosis, known)."""
    from medcore.assessment.evaluate import evaluate_file

    figures = evaluate_file(model, args.path)["metrics"]
    if args.json:
        print(json.dumps(figures))
        return 0
    for key in ("triage_accuracy", "emergency_recall", "safety", "over_triage", "top1", "top3", "unknown_confident"):
        value, interval, n = figures[key], figures[f"{key}_ci95"], figures[f"n_{key}"]
        shown = "-" if value is None else f"{value:.4f}  (95 % CI {interval[0]:.4f}-{interval[1]:.4f}, n={n})"
        print(f"{key:<18} {shown}")
    return 0


def _evaluate_recommender(model, args) -> int:
    """The temporal protocol of ARCHITECTURE.md on a Synthea folder (or a zip of one), beside popularity."""
    from medcore.care.evaluate import evaluate_recommender
    from medcore.core.evaluate import evaluate_upload

    path = Path(args.path)
    if path.suffix.lower() == ".zip" and path.is_file():
        result = evaluate_upload(model, path.name, path.read_bytes())
    else:
        result = evaluate_recommender(model, path)
    headline = {key: result[key] for key in ("model", "n", "hr@10", "ndcg@10", "recall@10")}
    popularity = result["baseline"]["popularity"]
    if args.json:
        print(
            json.dumps({**headline, "popularity": popularity, "skipped": result["skipped"], "notes": result["notes"]})
        )
        return 0
    for key, value in headline.items():
        print(f"{key:<10} {value:.4f}" if isinstance(value, float) else f"{key:<10} {value}")
    print("popularity " + ", ".join(f"{k} {v:.4f}" for k, v in popularity.items()))
    for note in result["notes"]:
        print(f"note: {note}")
    return 0


def _print_figures(model, result: dict, args, extra: dict) -> None:
    """A capability's evaluation: one JSON object (``--json``) or one line per figure with its interval."""
    scalars = {k: v for k, v in result.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if args.json:
        intervals = {k: v for k, v in result.items() if k.endswith("_ci95")}
        print(json.dumps({"model": model.name, **scalars, **intervals, **extra, "notes": result["notes"]}))
        return
    print(f"model                  {model.name}")
    for key, value in scalars.items():
        interval = result.get(f"{key}_ci95")
        bounds = f"  (95 % CI {interval[0]:.4f}-{interval[1]:.4f})" if interval and None not in interval else ""
        print(f"{key:<22} {value:.4f}{bounds}" if isinstance(value, float) else f"{key:<22} {value}")


def _evaluate_survival(model, args) -> int:
    """C-index, time-dependent AUC, integrated Brier score and calibration on a labelled CSV."""
    from medcore.survival.evaluate import evaluate_survival

    result = evaluate_survival(model, args.path)
    _print_figures(model, result, args, {"calibration": result["calibration"]})
    if not args.json:
        for label, table in result["calibration"].items():
            print(f"calibration at {label} (decile: predicted vs Kaplan-Meier observed survival)")
            for index, row in enumerate(table, start=1):
                print(
                    f"  {index:>2}  n={row['n']:<5} predicted {row['predicted']:.3f}  observed {row['observed']:.3f} "
                    f"({row['observed_low']:.3f}-{row['observed_high']:.3f})"
                )
        for note in result["notes"]:
            print(f"note: {note}")
    return 0


def _evaluate_molecules(model, args) -> int:
    """AUC per task (or RMSE) with intervals on a CSV of SMILES and labels."""
    from medcore.molecules.evaluate import evaluate_molecules

    result = evaluate_molecules(model, args.path)
    _print_figures(model, result, args, {"per_task": result.get("per_task")})
    if not args.json:
        for row in result.get("per_task", []):
            auc = "-" if row["auc"] is None else f"{row['auc']:.4f}"
            print(f"  {row['task']:<16} AUC {auc}  (n={row['n']}, positives {row['positives']})")
        for note in result["notes"]:
            print(f"note: {note}")
    return 0


def _evaluate_literature(model, args) -> int:
    """Strict and relaxed mention P/R/F1 per type, concept and CID P/R/F1 on a PubTator file."""
    from medcore.literature.evaluate import evaluate_literature

    result = evaluate_literature(model, args.path)
    if args.json:
        keep = {k: v for k, v in result.items() if k not in ("predictions", "per_type")}
        print(json.dumps(keep))
        return 0
    print(
        f"model {model.name}; n={result['n']} abstracts ({result['n_chemical_mentions']} chemical, "
        f"{result['n_disease_mentions']} disease mentions, {result['n_cid_relations']} CID relations); "
        f"{result['out_of_domain']} refused"
    )
    print(f"{'measure':<28} {'precision':>22} {'recall':>22} {'F1':>22}")
    for row in result["per_type"]:
        cells = [
            f"{row[m]:.4f} ({row[f'{m}_ci95'][0]:.3f}-{row[f'{m}_ci95'][1]:.3f})" for m in ("precision", "recall", "f1")
        ]
        print(f"{row['measure']:<28} " + " ".join(f"{c:>22}" for c in cells))
    print("(95 % bootstrap intervals over abstracts in brackets)")
    for note in result["notes"]:
        print(f"note: {note}")
    return 0


def _evaluate_dosing(model, args) -> int:
    """MAE and the share within 20 % (overall, per dose band and race) beside the IWPC algorithms."""
    from medcore.dosing.evaluate import evaluate_doses

    result = evaluate_doses(model, args.path)
    _print_figures(model, result, args, {"subgroups": result["subgroups"]})
    if not args.json:
        for attribute, groups in result["subgroups"].items():
            for group, row in groups.items():
                if "mae" in row:
                    print(
                        f"  {attribute} {group}: n={row['n']}, MAE {row['mae']:.2f} (IWPC PG {row['iwpc_pg_mae']:.2f}), "
                        f"within 20 % {row['within_20pct']:.3f} (IWPC PG {row['iwpc_pg_within_20pct']:.3f})"
                    )
        for note in result["notes"]:
            print(f"note: {note}")
    return 0


def _predict_dosing(model, args) -> int:
    """Each CSV's patients: weekly dose with its interval and the IWPC doses beside it."""
    rows = []
    for item in args.inputs:
        path = Path(item)
        if not path.is_file():
            raise InvalidInputError(f"No file at '{item}'. Pass CSVs of patients with IWPC column names.")
        strengths = (
            None if args.strengths is None else [part.strip() for part in args.strengths.split(",") if part.strip()]
        )
        rows += [{"file": path.name, "row": i + 1, **r} for i, r in enumerate(model.analyse(path, strengths))]
    _audit(model, [str(args.inputs)], {"patients": len(rows)})
    if args.json:
        print(json.dumps(rows))
        return 0
    for r in rows:
        if r["out_of_domain"]:
            print(f"{r['file']} row {r['row']}: NO DOSE {r['reason']}")
            continue
        pg = r["baselines"]["IWPC pharmacogenetic"]
        print(
            f"{r['file']} row {r['row']}: {r['dose']:.1f} mg/week (95 % {r['interval'][0]:.1f}-{r['interval'][1]:.1f}); "
            f"{r['schedule']['text']}; IWPC pharmacogenetic {pg:.1f}"
        )
    return 0


def _predict_segmentation(model, args) -> int:
    """Each image: lesion measures (or why there is none); the mask is written only with --out."""
    from medcore.imaging.decode import decode_image

    rows = []
    for name, data in _read_files(args.inputs):
        image = decode_image(data, name).pixels
        (result,) = model.analyse([image])
        row = {
            "input": name,
            "out_of_domain": result["out_of_domain"],
            "reason": result["reason"],
            "measures": result["measures"],
        }
        if args.out and result["mask"] is not None:
            from PIL import Image

            out = Path(args.out)
            if len(args.inputs) > 1:  # one mask per input: <out stem>-<input stem>.png
                out = out.with_name(f"{out.stem}-{Path(name).stem}{out.suffix or '.png'}")
            Image.fromarray(result["mask"] * 255).save(out, format="PNG")
            row["mask_file"] = str(out)
        rows.append(row)
    _audit(model, [str(args.inputs)], {"images": len(rows), "refused": sum(r["out_of_domain"] for r in rows)})
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        if row["out_of_domain"]:
            print(f"{row['input']}: NO OUTLINE {row['reason']}")
            continue
        m = row["measures"]
        found = (
            f"lesion {m['area_percent']:.1f} % of the image, longest diameter {m['longest_diameter_pixels']:.0f} px, "
            f"circularity {m['circularity']:.2f}, margin irregularity {m['margin_irregularity']:.2f}"
            if m["lesion_found"]
            else "no lesion outlined"
        )
        print(f"{row['input']}: {found}" + (f"; mask written to {row['mask_file']}" if "mask_file" in row else ""))
    return 0


def _predict_literature(model, args) -> int:
    """Each input (a text, or a .txt / PubTator / .csv file): mentions with MeSH ids and relations."""
    from medcore.literature.data import read_texts

    names, texts = [], []
    for item in args.inputs:
        path = Path(item)
        if path.suffix.lower() in (".txt", ".csv", ".pubtator") and path.is_file():
            found_names, found_texts, _ = read_texts(path.name, path.read_bytes())
            names += found_names
            texts += found_texts
        else:
            names.append(f"text {len(names) + 1}")  # never the text itself: it may hold a name
            texts.append(item)
    results = model.extract_many(texts)
    _audit(model, texts, {"texts": len(texts), "refused": sum(r["out_of_domain"] for r in results)})
    if args.json:
        print(json.dumps([{"name": n, **r} for n, r in zip(names, results)]))
        return 0
    for name, result in zip(names, results):
        print(f"{name}:")
        for notice in result["notices"]:
            print(f"  note: {notice}")
        if result["out_of_domain"]:
            print(f"  NOT ANALYSED {result['reason']}")
            continue
        for e in result["entities"]:
            print(f"  {e['type']:<8} {e['start']}-{e['end']} {e['text']!r} MeSH {e['id'] or '-'} ({e['score']:.2f})")
        for r in result["relations"]:
            print(
                f"  CID {r['chemical_text']} ({r['chemical']}) -> {r['disease_text']} ({r['disease']}) {r['score']:.2f}"
            )
    return 0


def _predict_molecules(model, args) -> int:
    """Each SMILES (or each row of a CSV path): predictions, or why there is none."""
    smiles = []
    for item in args.inputs:
        path = Path(item)
        if item.lower().endswith(".csv") and path.is_file():
            from medcore.molecules.data import read_table, smiles_column

            table = read_table(path)
            smiles += [str(s) if s == s else "" for s in table[smiles_column(table)]]
        else:
            smiles.append(item)
    results = model.analyse(smiles)
    _audit(model, smiles, {"molecules": len(results), "errors": sum(bool(r["error"]) for r in results)})
    if args.json:
        print(json.dumps(results))
    for r in [] if args.json else results:
        if r["error"]:
            print(f"{r['smiles']}: ERROR {r['error']}")
        elif r["out_of_domain"]:
            print(f"{r['smiles']}: NOT PREDICTED {r['notes'][-1]}")
        else:
            shown = ", ".join(f"{t} {v:.3f}" for t, v in r["predictions"].items())
            if r.get("interval"):
                shown += " (95 % " + ", ".join(f"{low:.2f} to {high:.2f}" for low, high in r["interval"].values()) + ")"
            print(f"{r['smiles']}: {shown}; nearest training molecule Tanimoto {r['similarity']:.2f}")
            for note in r["notes"]:
                print(f"  note: {note}")
    return 1 if any(r["error"] for r in results) else 0


def _predict_survival(model, args) -> int:
    """Each CSV's patients: risk percentile, group, median survival and survival at the horizons."""
    rows = []
    for item in args.inputs:
        path = Path(item)
        if not path.is_file():
            raise InvalidInputError(f"No file at '{item}'. Pass CSV files with one row per patient.")
        data = path.read_bytes()
        results = model.analyse(data)
        _audit(model, [data], {"rows": len(results), "out_of_domain": sum(r["out_of_domain"] for r in results)})
        rows += [{"input": path.name, "row": index + 1, **result} for index, result in enumerate(results)]
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        where = f"{row['input']} row {row['row']}"
        if row["out_of_domain"]:
            print(f"{where}: NOT ANALYSED {row['warnings'][0]}")
            continue
        horizons = ", ".join(
            f"{k[9:]} {v:.3f}" for k, v in row.items() if k.startswith("survival@") and not k.endswith("_ci95")
        )
        median = (
            f"{row['median_survival']:.1f} {model.time_unit}" if row["median_survival"] is not None else "not reached"
        )
        print(
            f"{where}: {model.risk_words(row['risk_percentile'])}; median {model.endpoint} {median}; "
            f"{model.endpoint} {horizons}"
        )
    return 0


def _audit(model, parts: list[bytes | str], summary: dict) -> None:
    """One audit record for a CLI prediction: the input's hash and a summary, under the OS user."""
    import getpass

    from medcore.core.audit import input_digest, record

    record("cli predict", model.card, input_digest(*parts), summary, user=f"cli:{getpass.getuser()}")


def _read_files(inputs: list[str]) -> list[tuple[str, bytes]]:
    files = []
    for item in inputs:
        path = Path(item)
        if not path.is_file():
            raise InvalidInputError(f"No file at '{item}'. Pass paths of PNG, JPEG or DICOM files.")
        files.append((path.name, path.read_bytes()))
    return files


def _predict_images(model, args) -> int:
    files = _read_files(args.inputs)
    rows = [{"input": row.pop("name"), **row} for row in (r.plain() for r in model.analyse(files))]
    for (_, data), row in zip(files, rows):
        _audit(
            model,
            [data],
            {"decision": row["decision"], "out_of_domain": row["out_of_domain"], "error": bool(row["error"])},
        )
    if args.json:
        print(json.dumps(rows if len(rows) > 1 else rows[0]))
    for row in [] if args.json else rows:
        if row["error"]:
            print(f"{row['input']}: ERROR {row['error']}")
            continue
        if row["out_of_domain"]:
            print(f"{row['input']}: NOT ANALYSED {row['warnings'][0]}")
            continue
        probabilities = ", ".join(f"{k} {v:.3f}" for k, v in row["probabilities"].items())
        print(f"{row['input']}: {row['decision']} ({probabilities})")
        for note in row["warnings"]:
            print(f"  warning: {note}")
    return 1 if any(row["error"] for row in rows) else 0


def _predict_modality(model, args) -> int:
    """The image-kind router: what each file looks like and which model reads it."""
    from medcore.imaging.modality import detect_uploads

    files = _read_files(args.inputs)
    rows = [
        {"input": name, **(d or {"error": "cannot be decoded"})}
        for (name, _), d in zip(files, detect_uploads(model, files))
    ]
    for (_, data), row in zip(files, rows):
        _audit(model, [data], {"modality": row.get("modality")})
    if args.json:
        print(json.dumps(rows if len(rows) > 1 else rows[0]))
    for row in [] if args.json else rows:
        found = (
            f"{row['modality']} ({row['probability']:.1%}) -> {row['model'] or 'no model'}"
            if "modality" in row
            else row["error"]
        )
        print(f"{row['input']}: {found}")
    return 1 if any("error" in row for row in rows) else 0


def _predict_other(model, args) -> int:
    """Checklist: the inputs are one patient's symptoms; recommender: one history; text: one text each."""
    if model.kind == "checklist":
        symptoms = [name for item in args.inputs for name in item.split(",") if name.strip()]
        result = {
            "differential": model.differential(symptoms, top=5),
            "next_questions": model.next_questions(symptoms, 3),
        }
        lines = [f"{d['disease']}: {d['probability']:.3f}" for d in result["differential"]]
        lines += [
            f"ask about: {q['symptom'].replace('_', ' ')} (the answer would change the ranking most)"
            if i == 0
            else f"then about: {q['symptom'].replace('_', ' ')}"
            for i, q in enumerate(result["next_questions"])
        ] or ["no further question would change the ranking"]
    elif model.kind == "recommender":
        result = model.recommend(list(args.inputs), k=10)
        lines = [f"{r['score']:.3f}  {r['description']} ({r['kind']}): {r['reason']}" for r in result["items"]]
        lines += [f"note: {n}" for n in result["notices"]] + [f"unknown: {u}" for u in result["unknown"]]
    else:
        proba = model.predict_proba(list(args.inputs))
        result = [dict(zip(model.labels, map(float, row))) for row in proba]
        lines = [
            f"{text[:40]!r}: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(row.items(), key=lambda kv: -kv[1])[:3])
            for text, row in zip(args.inputs, result)
        ]
    _audit(model, list(args.inputs), {"inputs": len(args.inputs)})
    print(json.dumps(result) if args.json else "\n".join(lines))
    return 0


def _cmd_predict(args) -> int:
    from medcore import load_model

    model = load_model(args.model)
    if model.kind == "image":
        return _predict_images(model, args)
    if model.kind == "modality":
        return _predict_modality(model, args)
    if model.kind == "survival":
        return _predict_survival(model, args)
    if model.kind == "molecule":
        return _predict_molecules(model, args)
    if model.kind == "literature":
        return _predict_literature(model, args)
    if model.kind == "dosing":
        return _predict_dosing(model, args)
    if model.kind == "segmentation":
        return _predict_segmentation(model, args)
    if model.kind == "assessment":
        return _predict_assessment(model, args)
    if model.kind == "recommender" and (args.plan or args.where):
        return _predict_care_plan(model, args)
    if not args.inputs:
        raise InvalidInputError(f"'{args.model}' needs at least one input after the model name.")
    return _predict_other(model, args)


def _lifestyle(text: str | None) -> dict | None:
    """'smoking=current,pack_years=30' -> {'smoking': 'current', 'pack_years': 30.0}."""
    if not text:
        return None
    values: dict = {}
    for part in text.split(","):
        name, equals, value = part.partition("=")
        if not equals or not name.strip():
            raise InvalidInputError(f"--lifestyle: {part!r} is not NAME=VALUE (e.g. smoking=current,bmi=31).")
        value = value.strip()
        if name.strip() == "pregnant":
            values["pregnant"] = value.lower() in ("1", "true", "yes")
            continue
        try:
            values[name.strip()] = float(value)
        except ValueError:
            values[name.strip()] = value
    return values


def _number(text: str | None, name: str) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInputError(f"--{name} must be a number; got {text!r}.") from None


def _predict_care_plan(model, args) -> int:
    """--plan: the care plan for the history given as inputs; --where NEED --location: nearest facilities."""
    from medcore.care.places import parse_location

    if args.where:
        if args.location is None:
            raise InvalidInputError("--where needs --location ('LAT,LON', a US ZIP code or 'City, ST').")
        result = model.where(parse_location(args.location), args.where, k=args.k or 5)
        _audit(model, [args.location, args.where], {"facilities": len(result)})
        lines = [
            f"{r['distance_km']:6.1f} km  {r['name']} ({r['address']}; {r['phone'] or 'no phone'}): {r['why']}"
            for r in result
        ]
    else:
        result = model.plan(
            list(args.inputs),
            age=_number(args.age, "age"),
            sex=args.sex,
            location=parse_location(args.location),
            lifestyle=_lifestyle(args.lifestyle),
            k=args.k or 10,
        )
        _audit(model, list(args.inputs), {"gaps": len(result["care_gaps"]), "next": len(result["next"])})
        lines = ["WHAT NEXT - care gaps:"]
        lines += [f"  [{g['status']}] {g['title']}: {g['why']} ({g['source']})" for g in result["care_gaps"]]
        lines += ["WHAT NEXT - suggestions (after the rules):"]
        lines += [f"  {r['description']} ({r['kind']}): {r['reason']}" for r in result["next"]]
        lines += ["HOW TO LIVE:"] + [
            f"  {a['topic']}: {a['text']} Why: {a['why']} ({a['source']})" for a in result["advice"]
        ]
        lines += ["WHERE TO GO:"] + [
            f"  {w['need']}: {w['name']}, {w['distance_km']:.1f} km, {w['address']}, {w['phone'] or 'no phone'}"
            for w in result["where"]
        ]
        lines += [f"note: {n}" for n in result["notices"]]
    print(json.dumps(result) if args.json else "\n".join(lines))
    return 0


def _predict_assessment(model, args) -> int:
    """One patient: --text (and/or the inputs as words), --age, --sex, --symptoms ids."""
    text = " ".join([args.text or "", *args.inputs]).strip()
    symptoms = [s.strip() for s in (args.symptoms or "").split(",") if s.strip()] or None
    result = model.assess(text, age=args.age, sex=args.sex, symptoms=symptoms)
    _audit(model, [text, *(symptoms or [])], {"level": result["triage"]["level"], "fits": result["fits"]})
    if args.json:
        print(json.dumps(result))
        return 0
    triage = result["triage"]
    lines = [f"TRIAGE: {triage['level'].upper()} - {triage['advice']}"] + [f"  why: {r}" for r in triage["reasons"]]
    lines.append(
        "findings: " + ", ".join(f["label"] if f["present"] else f"no {f['label']}" for f in result["findings"])
    )
    if result["fits"]:
        lines += [f"{d['probability']:.3f}  {d['condition']} ({d['icd10']})" for d in result["differential"][:5]]
    lines += [f"note: {n}" for n in result["notices"]]
    lines += [f"ask: {q['question']}" for q in result["next_questions"]]
    print("\n".join(lines))
    return 0


def _cmd_serve(args) -> int:
    """The model service (uvicorn, or Ray Serve with --ray); with no API tokens only on 127.0.0.1."""
    from medcore.api.app import LOOPBACK
    from medcore.api.tokens import load_tokens

    try:
        tokens = load_tokens()
    except ValueError as err:
        raise InvalidInputError(str(err)) from None
    host = args.host
    if not tokens and host not in LOOPBACK:
        print(
            f"No API tokens are configured, so the service binds to 127.0.0.1 only (not {host}). "
            "Add tokens (python -m medcore.api.tokens NAME) to serve other machines.",
            file=sys.stderr,
        )
        host = "127.0.0.1"
    access = f"{len(tokens.tokens)} API token(s)" if tokens else "no API tokens: callers on this machine only"
    if args.ray:
        from medcore.api.ray_app import serve_forever

        print(f"medcore model service on Ray Serve at http://{host}:{args.port} ({access})", file=sys.stderr)
        serve_forever(host, args.port)
        return 0
    if args.workers < 1:
        raise InvalidInputError(f"--workers must be 1 or more; got {args.workers}.")
    import uvicorn

    print(
        f"medcore model service at http://{host}:{args.port} (docs at /docs; {args.workers} worker(s); {access})",
        file=sys.stderr,
    )
    uvicorn.run(
        "medcore.api.app:create_app", factory=True, host=host, port=args.port, workers=args.workers, log_level="info"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    parser = argparse.ArgumentParser(prog="python -m medcore", description="medcore: clinical decision-support models.")
    commands = parser.add_subparsers(dest="command", required=True)
    models = commands.add_parser("models", help="list shipped models with their headline metrics")
    models.add_argument("--json", action="store_true")
    models.set_defaults(run=_cmd_models)

    train = commands.add_parser("train", help="rebuild a model bundle from data")
    train.add_argument("model")
    train.add_argument("--data", help="data file or folder (default: $MEDCORE_DATA_DIR)")
    train.add_argument("--epochs", type=int)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--members", type=int, help="ensemble size (image models)")
    train.add_argument("--out", type=Path, help="bundle folder (default: models/MODEL)")
    train.set_defaults(run=_cmd_train)

    evaluate = commands.add_parser("evaluate", help="metrics on a labelled file")
    evaluate.add_argument("model")
    evaluate.add_argument("path")
    evaluate.add_argument("--split", default="test", help="split of a MedMNIST .npz (train|val|test)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(run=_cmd_evaluate)

    predict = commands.add_parser(
        "predict",
        help="predictions: image files, texts, one patient's symptoms, one history of item ids, CSVs of patients, "
        "SMILES (or a CSV of them), or abstracts (texts, .txt / PubTator / .csv files)",
    )
    predict.add_argument("model")
    predict.add_argument("inputs", nargs="*")
    predict.add_argument("--json", action="store_true")
    predict.add_argument("--text", help="symptom assessment: the symptoms in words")
    predict.add_argument("--age", help="symptom assessment and care plan: age in years")
    predict.add_argument("--sex", help="symptom assessment and care plan: female or male")
    predict.add_argument("--symptoms", help="symptom assessment: comma-separated symptom ids ticked as present")
    predict.add_argument(
        "--plan", action="store_true", help="care-recommender: the whole care plan for the history given as inputs"
    )
    predict.add_argument(
        "--where", metavar="NEED", help="care-recommender: nearest facilities for NEED (e.g. emergency)"
    )
    predict.add_argument("--strengths", help="warfarin-dose: tablet strengths stocked, mg, e.g. '1,3,5' (default)")
    predict.add_argument("--location", help="care-recommender: 'LAT,LON', a US ZIP code or 'City, ST'")
    predict.add_argument(
        "--lifestyle", help="care-recommender: e.g. smoking=current,pack_years=30,bmi=31,activity=60,alcohol=10,sleep=6"
    )
    predict.add_argument("--k", type=int, help="care-recommender: how many suggestions or facilities")
    predict.add_argument(
        "--out", help="write the lesion mask as PNG here (segmentation models; nothing is written without it)"
    )
    predict.set_defaults(run=_cmd_predict)

    serve = commands.add_parser("serve", help="the model service over HTTP (FastAPI; --ray for Ray Serve)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (other than 127.0.0.1 needs API tokens)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (each loads every model)")
    serve.add_argument("--ray", action="store_true", help="deploy on Ray Serve, one autoscaled deployment per model")
    serve.set_defaults(run=_cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for input errors)."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except MedcoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
