"""Care plan (issue 27): the rule tables, care gaps and their status, the filter on suggestions, advice,
where to go (checked against a brute-force search of the directory), bad input, the written outpatient
cases, and the CLI. The shipped bundle (committed) carries the rules and the directory, so no data
is needed except for the test that rebuilds the directory from the CSVs."""

from __future__ import annotations

import json
import math
import re
from datetime import date

import numpy as np
import pytest

import medcore
from medcore.care.evaluate import CASES, forbidden_hits
from medcore.care.guidelines import TABLES_DIR, Patient, care_gaps, holds, read_tables
from medcore.care.places import NEEDS, build_directory, haversine_km
from medcore.cli import main
from medcore.core.errors import InvalidInputError

TODAY = date(2026, 12, 7)
LINCOLN = (40.8136, -96.7026)


@pytest.fixture(scope="module")
def care():
    return medcore.load_model("care-recommender")


def plan(care, history, **kwargs):
    return care.plan(history, today=TODAY, **kwargs)


def gaps(result) -> dict[str, dict]:
    return {gap["id"]: gap for gap in result["care_gaps"]}


def shown(result) -> set[str]:
    return {entry["item"] for entry in result["next"]}


def withheld(result) -> dict[str, str]:
    return {entry["item"]: entry["rule"] for entry in result["withheld"]}


# -- the tables --------------------------------------------------------------------------------------
def test_every_rule_row_has_a_source_and_every_expression_and_group_resolves():
    tables = read_tables(TABLES_DIR)
    groups = {row["group"] for row in tables["groups"]}
    patient = Patient(age=50, sex="F", doses={}, groups=set(), lifestyle={}, today=TODAY)
    expressions = [row["who"] for row in tables["care_gaps"]] + [
        row["when"] for row in tables["never"] + tables["advice"]
    ]
    for expression in expressions:
        holds(expression, patient)  # raises on an atom it does not understand
        for atom in expression.replace(";", "&").split("&"):
            atom = atom.strip()
            if atom.startswith(("has:", "lacks:")):
                assert set(atom.split(":", 1)[1].split("|")) <= groups, atom
    for row in tables["care_gaps"] + tables["never"]:
        for token in (row.get("done_by") or row.get("items", "")).split():
            if token.startswith("group:"):
                assert token[6:] in groups, token
    ids = [row["id"] for row in tables["care_gaps"]]
    assert len(ids) == len(set(ids))
    assert all(row["source"] for rows in tables.values() for row in rows)
    # The issue's guideline families are all there.
    text = " ".join(row["source"] for row in tables["care_gaps"])
    for family in ("ADA", "USPSTF", "ACIP", "ACC/AHA", "KDIGO", "GINA", "GOLD", "STEADI"):
        assert family in text, family


def test_a_row_without_a_source_is_refused(tmp_path):
    for name in ("groups", "care_gaps", "never", "advice"):
        (tmp_path / f"{name}.csv").write_text((TABLES_DIR / f"{name}.csv").read_text())
    lines = (tmp_path / "advice.csv").read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + ","
    (tmp_path / "advice.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="without a source"):
        read_tables(tmp_path)


def test_expressions_combine_clauses_with_or_and_atoms_with_and():
    smoker = Patient(
        age=60,
        sex="M",
        doses={},
        groups=set(),
        lifestyle={"smoking": "former", "pack_years": 25, "quit_years": 20},
        today=TODAY,
    )
    rule = "age>=50 & pack_years>=20 & smoking=current ; age>=50 & pack_years>=20 & smoking=former & quit_years<=15"
    assert not holds(rule, smoker)
    smoker.lifestyle["quit_years"] = 15
    assert holds(rule, smoker)
    unknown = Patient(age=None, sex=None, doses={}, groups=set(), lifestyle={}, today=TODAY)
    assert not holds("age>=18", unknown) and not holds("age<18", unknown)  # unknown is never true


# -- what next: care gaps ------------------------------------------------------------------------------
def test_the_issue_example_gets_his_diabetes_care_and_none_of_the_surgery(care):
    result = plan(care, ["condition:59621000", "condition:44054006", "medication:860975"], age=67, sex="M")
    found = gaps(result)
    for gap in ("diabetes-hba1c", "diabetes-eye", "diabetes-foot", "diabetes-kidney", "diabetes-statin",
                "influenza-vaccine", "pneumococcal-adult"):  # fmt: skip
        assert found[gap]["status"] == "due", gap
        assert found[gap]["source"] and found[gap]["why"]
    forbidden = {"procedure:180178009", "procedure:232717009", "procedure:301882004", "procedure:359672006",
                 "procedure:23745001", "procedure:306706006"}  # fmt: skip
    assert not forbidden & shown(result)
    assert forbidden <= set(withheld(result))  # the filter, not luck, removed them
    assert withheld(result)["procedure:232717009"] == "specialist-procedure"
    assert all(entry["reason"] for entry in result["next"]) and 1 <= len(result["next"]) <= 10
    if len(result["next"]) < 10:
        assert any(f"Only {len(result['next'])} suggestion(s) remain" in notice for notice in result["notices"])


def test_status_follows_dates_and_intervals(care):
    recent = plan(care, [{"item": "procedure:24623002", "date": "2025-12-01"}], age=60, sex="F")
    old = plan(care, [{"item": "procedure:24623002", "date": "2022-11-01"}], age=60, sex="F")
    undated = plan(care, ["procedure:24623002"], age=60, sex="F")
    never = plan(care, [], age=60, sex="F")
    assert gaps(recent)["breast-screening"]["status"] == "done"
    assert gaps(old)["breast-screening"]["status"] == "overdue"
    assert "2022-11-01" in gaps(old)["breast-screening"]["why"]
    assert (
        gaps(undated)["breast-screening"]["status"] == "done"
        and "date not known" in gaps(undated)["breast-screening"]["why"]
    )
    assert gaps(never)["breast-screening"]["status"] == "due"
    # A colonoscopy counts for 10 years, a stool test for 1.
    colonoscopy = plan(care, [{"item": "procedure:73761001", "date": "2019-06-01"}], age=60, sex="F")
    stool = plan(care, [{"item": "procedure:104435004", "date": "2024-06-01"}], age=60, sex="F")
    assert gaps(colonoscopy)["colorectal-screening"]["status"] == "done"
    assert gaps(stool)["colorectal-screening"]["status"] == "overdue"


def test_vaccine_doses_are_counted_and_childhood_doses_do_not_count_for_adults(care):
    two = plan(care, ["immunization:187", "immunization:187"], age=60, sex="F")
    one = plan(care, ["immunization:187"], age=60, sex="F")
    assert gaps(two)["zoster-vaccine"]["status"] == "done"
    assert gaps(one)["zoster-vaccine"]["status"] == "due" and "1 of 2" in gaps(one)["zoster-vaccine"]["why"]
    # A conjugate dose at 1 year old does not protect a 66-year-old; the same vaccine at 65 does.
    as_child = plan(care, [{"item": "immunization:216", "date": "1961-06-01"}], age=66, sex="M")
    as_adult = plan(care, [{"item": "immunization:216", "date": "2025-06-01"}], age=66, sex="M")
    assert gaps(as_child)["pneumococcal-adult"]["status"] != "done"
    assert gaps(as_adult)["pneumococcal-adult"]["status"] == "done"
    # PCV13 alone is not the complete adult schedule any more (PCV20 or PCV21 is still recommended).
    pcv13 = plan(care, [{"item": "immunization:133", "date": "2025-06-01"}], age=66, sex="M")
    assert gaps(pcv13)["pneumococcal-adult"]["status"] == "due"
    # Doses given too close together count once; an MMR dose before the first birthday does not count.
    same_day = plan(care, [{"item": "immunization:08", "date": "2026-01-05"}] * 3, age=40, sex="F")
    assert gaps(same_day)["hepb-vaccine"]["status"] != "done" and "1 of 3" in gaps(same_day)["hepb-vaccine"]["why"]
    early_mmr = plan(care, [{"item": "immunization:03", "date": "2026-03-01"}], age=1.2, sex="F")
    assert gaps(early_mmr)["mmr-vaccine"]["status"] == "due"


def test_age_and_sex_bounds_of_screenings(care):
    assert "colorectal-screening" not in gaps(plan(care, [], age=44, sex="M"))
    assert "colorectal-screening" in gaps(plan(care, [], age=45, sex="M"))
    assert "breast-screening" in gaps(plan(care, [], age=74, sex="F"))
    assert "breast-screening" not in gaps(plan(care, [], age=75, sex="F"))
    assert "breast-screening" not in gaps(plan(care, [], age=50, sex="M"))
    unknown_age = plan(care, [], sex="F")
    assert "colorectal-screening" not in gaps(unknown_age)
    assert any("Age not given" in notice for notice in unknown_age["notices"])


def test_lung_screening_needs_pack_years_and_a_recent_quit(care):
    current = plan(care, [], age=60, sex="M", lifestyle={"smoking": "current", "pack_years": 20})
    light = plan(care, [], age=60, sex="M", lifestyle={"smoking": "current", "pack_years": 19})
    long_ago = plan(care, [], age=60, sex="M", lifestyle={"smoking": "former", "pack_years": 40, "quit_years": 16})
    assert "lung-screening" in gaps(current)
    assert "lung-screening" not in gaps(light) and "lung-screening" not in gaps(long_ago)


# -- what next: the filter on suggestions ----------------------------------------------------------------
def test_contraindicated_suggestions_are_withheld_with_the_reason():
    care = medcore.load_model("care-recommender")
    planner = care._planner
    suggestions = [
        {"item": item, "description": care.items[item]["description"], "kind": "x", "score": 1.0, "reason": "r"}
        for item in (
            "medication:198405",
            "medication:243670",
            "immunization:03",
            "procedure:385763009",
            "medication:308192",
        )
    ]

    def kept(history, age=40, sex="F", lifestyle=None):
        patient = planner.patient([(item, None) for item in history], age, sex, lifestyle or {}, TODAY)
        kept, withheld = planner.filter_suggestions(
            suggestions, patient, care_gaps(patient, planner.tables, planner.groups), 10
        )
        return {entry["item"] for entry in kept}, {entry["item"]: entry["rule"] for entry in withheld}

    free, held = kept([])
    assert held["medication:198405"] == "symptomatic-medicine"  # ibuprofen is taken for a symptom, not planned
    assert kept(["medication:855332"])[1]["medication:198405"] == "nsaid-warfarin"  # and never with warfarin
    assert kept(["medication:855332"])[1]["medication:243670"] == "aspirin-warfarin"
    assert kept(["condition:433144002"])[1]["medication:198405"] == "nsaid-ckd"
    assert kept([], age=75)[1]["medication:198405"] == "nsaid-old"
    # MMR is due at 17 with no dose; never in pregnancy (a flag or a pregnancy in the record).
    assert "immunization:03" in kept([], age=17)[0]
    assert kept([], age=17, lifestyle={"pregnant": True})[1]["immunization:03"] == "live-vaccine-pregnancy"
    assert kept(["condition:72892002"], age=17)[1]["immunization:03"] == "live-vaccine-pregnancy"
    assert kept([], age=40)[1]["immunization:03"] == "vaccine-not-indicated"  # not on the adult schedule here
    assert kept([])[1]["procedure:385763009"] == "hospice"  # hospice is never suggested from others' records
    assert kept(["condition:363406005"])[1]["procedure:385763009"] == "hospice"
    assert kept(["condition:195662009"])[1]["medication:308192"] == "antibiotic-viral"


def test_two_products_of_a_due_vaccine_are_not_both_offered(care):
    planner = care._planner
    patient = planner.patient([("condition:44054006", None)], 70, "F", {}, TODAY)
    found = gaps({"care_gaps": care_gaps(patient, planner.tables, planner.groups)})
    assert found["covid-vaccine"]["status"] == "due"
    suggestions = [
        {
            "item": item,
            "description": care.items[item]["description"],
            "kind": "immunization",
            "score": 1.0,
            "reason": "r",
        }
        for item in ("immunization:208", "immunization:207")
    ]
    kept, held = planner.filter_suggestions(suggestions, patient, list(found.values()), 10)
    assert [entry["item"] for entry in kept] == ["immunization:208"] and "Closes a care gap" in kept[0]["reason"]
    assert [(entry["item"], entry["rule"]) for entry in held] == [("immunization:207", "duplicate-dose")]


def test_only_one_product_of_a_vaccine_and_none_already_complete(care):
    result = plan(care, ["immunization:08", "immunization:08", "immunization:08"], age=12, sex="F")
    covid = [item for item in shown(result) if item in ("immunization:207", "immunization:208", "immunization:212")]
    assert len(covid) <= 1
    assert "immunization:08" not in shown(result)
    if "immunization:08" in withheld(result):
        assert withheld(result)["immunization:08"] in ("already-done", "vaccine-not-indicated")


# -- how to live -----------------------------------------------------------------------------------------
def test_advice_is_personal_and_never_generic(care):
    nothing = plan(care, [], age=30, sex="F")
    assert nothing["advice"] == []
    assert any("add smoking status" in notice for notice in nothing["notices"])
    result = plan(
        care,
        ["condition:59621000"],
        age=55,
        sex="M",
        lifestyle={
            "smoking": "current",
            "pack_years": 30,
            "height_cm": 175,
            "weight_kg": 105,
            "activity": 40,
            "alcohol": 28,
            "sleep": 5.5,
        },
    )
    advice = {entry["id"]: entry for entry in result["advice"]}
    assert {
        "smoking-quit",
        "weight-obesity",
        "activity-adult-low",
        "diet-dash",
        "alcohol-over",
        "sleep-short-adult",
    } <= set(advice)
    assert "34.3" in advice["weight-obesity"]["why"]  # BMI from height and weight
    assert "40 minutes" in advice["activity-adult-low"]["why"] and "28 units" in advice["alcohol-over"]["why"]
    assert {entry["topic"] for entry in result["advice"]} == {
        "smoking",
        "weight",
        "exercise",
        "diet",
        "alcohol",
        "rest and sleep",
    }
    assert all(entry["source"] for entry in result["advice"])
    healthy = plan(
        care, [], age=55, sex="M", lifestyle={"smoking": "never", "bmi": 23, "activity": 200, "alcohol": 3, "sleep": 8}
    )
    assert {entry["id"] for entry in healthy["advice"]} == {"activity-adult-ok"}


# -- where to go -------------------------------------------------------------------------------------
def _brute_force(care, lat, lon, need):
    arrays = care._planner.directory.arrays
    kind, emergency_only, _ = NEEDS[need]
    rows = np.flatnonzero((arrays["kind"] == kind) & (arrays["emergency"] | (not emergency_only)))
    distances = haversine_km(lat, lon, arrays["lat"][rows], arrays["lon"][rows])
    return rows, distances


@pytest.mark.parametrize("need", list(NEEDS))
def test_where_returns_the_nearest_of_the_right_kind_nearest_first(care, need):
    places = care.where(LINCOLN, need, k=5)
    assert len(places) == 5
    kind, emergency_only, _ = NEEDS[need]
    assert all(p["kind"] == kind for p in places)
    if emergency_only:
        assert all(p["emergency"] for p in places)
    distances = [p["distance_km"] for p in places]
    assert distances == sorted(distances)
    for p in places:  # the distance shown is the great-circle distance to that place
        assert p["distance_km"] == pytest.approx(float(haversine_km(*LINCOLN, p["lat"], p["lon"])), abs=0.01)
        assert {"name", "address", "phone", "quality", "why"} <= set(p) and p["why"]
    rows, brute = _brute_force(care, *LINCOLN, need)
    assert places[0]["distance_km"] == pytest.approx(float(brute.min()), abs=0.01)
    assert distances[-1] <= np.sort(brute)[4] + 0.01


def test_where_far_from_the_synthea_area_says_the_doctor_is_far(care):
    boston = care.where((42.36, -71.06), "primary care", k=1)[0]
    assert boston["distance_km"] > 1500 and boston["why"].startswith("Far:")
    assert care.where((42.36, -71.06), "emergency", k=1)[0]["distance_km"] < 10


def test_locations_resolve_from_the_directory_itself(care):
    (lat, lon), shown_as = care.locate("68510")
    assert shown_as == "ZIP 68510" and haversine_km(lat, lon, *LINCOLN) < 15
    (lat, lon), _ = care.locate("Omaha, Nebraska")
    assert haversine_km(lat, lon, 41.26, -95.94) < 15
    assert care.where("Omaha, NE", "hospital", k=1)[0]["distance_km"] < 15


@pytest.mark.parametrize(
    "location, message",
    [
        ("99999", "Nearest known ZIP codes"),
        ("Lincon, NE", "Did you mean Lincoln, NE"),
        ((0.0, 0.0), "outside the facility directory's area"),
        ((95.0, -96.0), "impossible"),
        ((40.8, float("nan")), "impossible"),
        ("nowhere at all!", "neither a US ZIP code"),
        (12345.6, "location"),
        ({"lat": 40.8}, "location"),
    ],
)
def test_bad_locations_name_the_field_and_offer_what_is_known(care, location, message):
    with pytest.raises(InvalidInputError, match=message):
        care.where(location, "emergency")


def test_bad_needs_and_k(care):
    with pytest.raises(InvalidInputError, match="Did you mean 'hospital'"):
        care.where(LINCOLN, "hopsital")
    with pytest.raises(InvalidInputError, match="need"):
        care.where(LINCOLN, "pharmacy")
    for k in (0, 51, 2.5, True):
        with pytest.raises(InvalidInputError, match="k must"):
            care.where(LINCOLN, "emergency", k=k)
    assert care.where(LINCOLN, "ED", k=1)[0]["emergency"]  # a word a clinician types


def test_a_plan_with_a_location_lists_the_places_for_its_needs(care):
    result = plan(care, ["condition:46177005"], age=59, sex="M", location="Lincoln, NE")
    needs = [entry["need"] for entry in result["where"]]
    assert {"primary care", "urgent care", "emergency", "dialysis"} <= set(needs)
    assert any("no pharmacies" in notice for notice in result["notices"])


# -- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"age": 200}, "age"),
        ({"age": -1}, "age"),
        ({"sex": "X"}, "sex"),
        ({"lifestyle": {"bmi": 500}}, "lifestyle.bmi"),
        ({"lifestyle": {"activity": -10}}, "lifestyle.activity"),
        ({"lifestyle": {"sleep": 30}}, "lifestyle.sleep"),
        ({"lifestyle": {"smoking": "sometimes"}}, "lifestyle.smoking"),
        ({"lifestyle": {"cigars": 3}}, "unknown field"),
        ({"lifestyle": {"height_cm": 170, "weight_kg": 390}}, "impossible"),
        ({"lifestyle": "smoker"}, "lifestyle must be a dict"),
        ({"sex": "M", "lifestyle": {"pregnant": True}}, "pregnant"),
        ({"k": 0}, "k must"),
    ],
)
def test_impossible_inputs_name_the_field(care, kwargs, field):
    with pytest.raises(InvalidInputError, match=field):
        care.plan(["condition:59621000"], **kwargs)


def test_unknown_history_ids_are_listed_and_the_rest_of_the_plan_stands(care):
    result = plan(care, ["condition:59621000", "condition:not-a-code", "observation:4548-4"], age=50, sex="F")
    assert result["unknown"] == ["condition:not-a-code"]  # a LOINC the rules know is not unknown
    assert "hypertension-review" in gaps(result)
    with pytest.raises(InvalidInputError, match=r"history\[1\]"):
        care.plan(["condition:59621000", 42])
    with pytest.raises(InvalidInputError, match=r"history\[0\].date"):
        care.plan([{"item": "procedure:24623002", "date": "last spring"}])


# -- the written outpatient cases ---------------------------------------------------------------------
_CASES = json.loads(CASES.read_text())


def test_the_written_cases_are_enough_and_varied():
    cases = _CASES["cases"]
    assert len(cases) >= 40
    assert sum(case["age"] < 18 for case in cases) >= 8 and sum(case["age"] >= 65 for case in cases) >= 10
    assert sum(bool(case["forbidden"]) for case in cases) >= 35


@pytest.mark.parametrize("case", _CASES["cases"], ids=[case["id"] for case in _CASES["cases"]])
def test_written_outpatient_case(care, case):
    result = care.plan(
        case["history"],
        age=case["age"],
        sex=case["sex"],
        lifestyle=case.get("lifestyle"),
        today=date.fromisoformat(_CASES["today"]),
    )
    status = {gap["id"]: gap["status"] for gap in result["care_gaps"]}
    for wanted in case["expected"]:
        gap, want = (wanted["id"], wanted["status"]) if isinstance(wanted, dict) else (wanted, None)
        assert gap in status, f"{gap} missing"
        if want:
            assert status[gap] == want, gap
    assert forbidden_hits(result, case["forbidden"], care._planner.groups) == []


def test_the_card_reports_the_cases_and_the_filtered_hit_rate(care):
    section = care.card["care_plan"]
    cases = section["outpatient_cases"]
    assert cases["n_cases"] == len(_CASES["cases"]) and cases["forbidden_shown"] == 0
    assert cases["present"] == cases["expected"] and len(cases["present_share_ci95"]) == 2
    filtered = section["filtered_validation"]
    assert 0 < filtered["hr@10"] <= care.card["metrics"]["validation"]["hr@10"] and len(filtered["hr@10_ci95"]) == 2


# -- the directory from the CSVs, the CLI -----------------------------------------------------------------
@pytest.mark.data
def test_the_directory_is_built_from_every_facility_file(data_dir, care):
    import csv

    arrays = build_directory(data_dir / "facilities", data_dir / "synthea_unmc")
    with open(data_dir / "facilities" / "hospitals.csv", newline="") as handle:
        hospitals = list(csv.DictReader(handle))
    assert int((arrays["kind"] == "hospital").sum()) == len(hospitals)
    assert int(arrays["emergency"][arrays["kind"] == "hospital"].sum()) == sum(
        h["emergency"] == "Yes" for h in hospitals
    )
    assert set(np.unique(arrays["kind"])) == {kind for kind, _, _ in NEEDS.values()}
    assert len(arrays["kind"]) == len(care._planner.directory.arrays["kind"])  # the shipped one matches
    assert np.isfinite(arrays["lat"]).all() and (np.abs(arrays["lat"]) <= 90).all()
    assert not any(ch.isdigit() for ch in "".join(arrays["name"][arrays["kind"] == "primary care"].tolist()))


def test_cli_plan_and_where(capsys):
    assert (
        main(["predict", "care-recommender", "condition:44054006", "--plan", "--age", "67", "--sex", "M", "--json"])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert "diabetes-hba1c" in {gap["id"] for gap in result["care_gaps"]}
    assert (
        main(
            [
                "predict",
                "care-recommender",
                "--where",
                "emergency",
                "--location",
                "40.8136,-96.7026",
                "--k",
                "2",
                "--json",
            ]
        )
        == 0
    )
    places = json.loads(capsys.readouterr().out)
    assert len(places) == 2 and places[0]["emergency"] and math.isfinite(places[0]["distance_km"])
    assert main(["predict", "care-recommender", "--where", "emergency", "--location", "99999"]) == 2
    assert "Nearest known ZIP codes" in capsys.readouterr().err


# -- found by a clinician's review ---------------------------------------------------------------------
def _filtered(care, history, age, sex, items, lifestyle=None):
    planner = care._planner
    patient = planner.patient([(item, None) for item in history], age, sex, lifestyle or {}, TODAY)
    suggestions = [
        {"item": item, "description": care.items[item]["description"], "kind": "x", "score": 1.0, "reason": "r"}
        for item in items
    ]
    kept, held = planner.filter_suggestions(
        suggestions, patient, care_gaps(patient, planner.tables, planner.groups), 10
    )
    return {entry["item"]: entry["reason"] for entry in kept}, {entry["item"]: entry["rule"] for entry in held}


def test_suggestions_a_clinician_would_not_make_are_withheld(care):
    _, held = _filtered(care, [], 0.2, "F", ["medication:1870230", "medication:313820"])
    assert held == {"medication:1870230": "epinephrine-no-allergy", "medication:313820": "symptomatic-medicine"}
    _, held = _filtered(care, ["condition:26929004", "medication:997223"], 80, "F", ["medication:310436"])
    assert held["medication:310436"] == "same-class-cholinesterase"
    _, held = _filtered(care, ["condition:72892002"], 28, "F", ["immunization:113"])
    assert held["immunization:113"] == "td-in-pregnancy"
    _, held = _filtered(care, ["condition:44054006"], 60, "M", ["medication:310798", "careplan:385691007"])
    assert held == {"medication:310798": "antihypertensive-no-indication", "careplan:385691007": "careplan-fracture"}
    _, held = _filtered(care, ["condition:44054006", "condition:431857002"], 70, "M", ["medication:860975"])
    assert held["medication:860975"] == "metformin-severe-ckd"
    _, held = _filtered(care, [], 12, "F", ["procedure:312681000"])
    assert held["procedure:312681000"] == "bone-density-young"


def test_a_due_test_is_offered_although_tests_are_usually_withheld_and_says_which_gap_it_closes(care):
    kept, held = _filtered(care, ["condition:72892002"], 28, "F", ["procedure:269828009"])
    assert "procedure:269828009" in kept and not held and "Syphilis test" in kept["procedure:269828009"]
    _, held = _filtered(care, [], 28, "F", ["procedure:269828009"])
    assert held["procedure:269828009"] == "diagnostic-test"  # not pregnant: a test ordered for a reason
    kept, _ = _filtered(care, ["condition:44054006"], 60, "F", ["medication:312961"])
    assert "Closes a care gap: Statin therapy" in kept["medication:312961"]  # a gap closed by a group of drugs


def test_flu_vaccine_counts_for_its_season_only(care):
    last_spring = plan(care, [{"item": "immunization:140", "date": "2026-03-01"}], age=70, sex="F")
    this_autumn = plan(care, [{"item": "immunization:140", "date": "2026-09-15"}], age=70, sex="F")
    assert gaps(last_spring)["influenza-vaccine"]["status"] == "overdue"
    assert gaps(this_autumn)["influenza-vaccine"]["status"] == "done"


def test_vaccine_schedules_follow_acip_age_limits_and_catch_up(care):
    unstarted = plan(care, [], age=0.58, sex="F")
    started = plan(care, ["immunization:119"], age=0.58, sex="F")
    assert "rotavirus-vaccine" not in gaps(unstarted)  # never started after 15 weeks
    assert gaps(started)["rotavirus-vaccine"]["status"] == "due"
    four = plan(care, [], age=4, sex="M")
    assert "no dose in the record" in gaps(four)["hib-vaccine"]["why"]  # one catch-up dose, not three


@pytest.mark.parametrize(
    "history, kwargs, message",
    [
        ([{"item": "immunization:140", "date": "2030-01-01"}], {"age": 40}, "in the future"),
        ([{"item": "immunization:140", "date": "1970-01-01"}], {"age": 40}, "before the patient was born"),
        (["condition:72892002"], {"age": 30, "sex": "M"}, "sex is 'M'"),
        ([], {"age": 5, "sex": "F", "lifestyle": {"pregnant": True}}, "pregnancy at age 5"),
        ([], {"age": 30, "lifestyle": {"smoking": "former", "quit_years": 60}}, "quit_years"),
        ([], {"age": 20, "lifestyle": {"smoking": "current", "pack_years": 150}}, "pack_years"),
        ([], {"age": 40, "lifestyle": {"smoking": "current", "quit_years": 3}}, "current"),
    ],
)
def test_a_history_that_contradicts_itself_is_refused(care, history, kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        plan(care, history, **kwargs)


def test_a_record_that_starts_late_says_so_and_advice_fits_the_age(care):
    late = plan(care, [{"item": "immunization:140", "date": "2020-10-01"}], age=12, sex="F")
    assert any(re.search(r"This record starts at age [67]:", notice) for notice in late["notices"])  # 12 = 12-13
    child = plan(care, [], age=10, sex="M", lifestyle={"bmi": 26})
    assert {entry["id"] for entry in child["advice"]} == {"weight-child"}
    former = plan(care, [], age=50, sex="M", lifestyle={"smoking": "former", "pack_years": 10, "quit_years": 1})
    assert "quit 1 year ago" in next(a["why"] for a in former["advice"] if a["id"] == "smoking-former")


def test_places_are_resolved_robustly_and_misplaced_facilities_are_flagged(care):
    (lat, lon), _ = care.locate("68508")  # its only facility is placed 190 km west in the directory
    assert haversine_km(lat, lon, *LINCOLN) < 15
    assert care.locate(68510)[1] == "ZIP 68510"  # a ZIP code typed as a number
    with pytest.raises(InvalidInputError, match="not in the US"):
        care.locate("Toronto, ON")
    bryan = care.where((41.7887, -96.9587), "emergency", k=1)[0]  # where the directory puts a Lincoln hospital
    assert bryan["name"] == "Bryan Medical Center" and "may be wrong" in bryan["why"]
    far = plan(care, [], age=40, sex="F", location="10001")
    assert all(p["why"].startswith("Far:") for p in far["where"] if p["distance_km"] > 100)
    assert not any(p["need"] == "primary care" for p in far["where"])  # no Nebraska doctor for New York
    assert any("No doctor of the directory is near" in notice for notice in far["notices"])
    assert any(p["need"] == "primary care" for p in plan(care, [], age=40, sex="F", location="68510")["where"])


# -- found by a second review -------------------------------------------------------------------------
def test_a_pregnancy_is_current_only_when_recent_and_teratogens_are_avoided(care):
    old = plan(care, [{"item": "condition:72892002", "date": "2015-03-01"}], age=45, sex="F")
    assert not any(gap_id.startswith("prenatal") for gap_id in gaps(old))
    grandmother = plan(care, ["condition:72892002", "condition:59621000"], age=67, sex="F")  # no refusal
    assert not any(gap_id.startswith("prenatal") for gap_id in gaps(grandmother))
    told_not = plan(care, ["condition:72892002"], age=30, sex="F", lifestyle={"pregnant": False})
    assert "prenatal-care" not in gaps(told_not)
    pregnant = plan(care, ["condition:44054006", "condition:59621000"], age=41, sex="F", lifestyle={"pregnant": True})
    assert not {"diabetes-ace-arb", "diabetes-statin"} & set(gaps(pregnant)) and "prenatal-care" in gaps(pregnant)
    _, held = _filtered(care, ["condition:59621000"], 30, "F", ["medication:314076"], {"pregnant": True})
    assert held["medication:314076"] == "teratogen-pregnancy"


def test_whole_year_ages_do_not_refuse_or_undercount_a_childs_vaccines(care):
    # Born 2021-01-15, so 5.9 on 2026-12-07, entered as "5": MMR at 12.5 and 50 months.
    record = [
        {"item": "immunization:08", "date": "2021-01-15"},
        {"item": "immunization:03", "date": "2022-01-30"},
        {"item": "immunization:03", "date": "2025-03-01"},
    ]
    result = plan(care, record, age=5, sex="F")
    assert gaps(result)["mmr-vaccine"]["status"] == "done"
    teen = plan(care, [{"item": "immunization:114", "date": "2026-05-01"}], age=16.8, sex="M")
    assert gaps(teen)["menacwy-vaccine"]["status"] == "done"  # a first dose at 16 needs no booster


def test_one_medicine_per_class_and_no_harmful_or_outdated_suggestions(care):
    kept, held = _filtered(care, ["condition:59621000"], 58, "F", ["medication:866436", "medication:856569"])
    assert list(kept) == ["medication:866436"] and held["medication:856569"] == "same-class-suggested"
    _, held = _filtered(care, ["condition:88805009", "condition:59621000"], 72, "M", ["medication:897685"])
    assert held["medication:897685"] == "non-dhp-ccb-heart-failure"
    _, held = _filtered(care, [], 62, "M", ["immunization:33", "immunization:133"])
    assert held == {"immunization:33": "ppsv23-alone", "immunization:133": "pcv13-adult"}
    _, held = _filtered(care, ["condition:26929004"], 88, "F", ["procedure:71651007"])
    assert held["procedure:71651007"] == "screening-not-indicated"  # no mammogram at 88


def test_kidney_failure_transplant_and_other_cancers_change_the_gaps(care):
    esrd = gaps(plan(care, ["condition:46177005", "condition:44054006"], age=60, sex="M"))
    assert not {"diabetes-ckd-sglt2", "ckd-nephrology", "ckd-monitoring", "ckd-ace-arb"} & set(esrd)
    transplant = gaps(plan(care, ["condition:161665007", "condition:44054006", "condition:431856006"], age=50, sex="F"))
    assert "diabetes-ckd-sglt2" not in transplant
    breast_cancer = gaps(plan(care, ["condition:254837009"], age=58, sex="F"))
    assert "colorectal-screening" in breast_cancer


def test_time_since_a_heart_attack_and_advice_for_pregnancy_and_teenagers(care):
    long_ago = gaps(plan(care, [{"item": "condition:22298006", "date": "2005-06-01"}], age=70, sex="M"))
    recent = gaps(plan(care, [{"item": "condition:22298006", "date": "2026-09-01"}], age=70, sex="M"))
    assert not {"ascvd-cardiac-rehab", "ascvd-beta-blocker"} & set(long_ago)
    assert {"ascvd-cardiac-rehab", "ascvd-beta-blocker"} <= set(recent)
    smoker = {"smoking": "current", "pack_years": 5, "alcohol": 10}
    pregnant = {a["id"] for a in plan(care, [], age=30, sex="F", lifestyle={**smoker, "pregnant": True})["advice"]}
    assert "smoking-quit-pregnancy" in pregnant and "smoking-quit" not in pregnant  # no varenicline in pregnancy
    assert "alcohol-pregnancy" in pregnant and "alcohol-over" not in pregnant
    teen = {
        a["id"]
        for a in plan(care, [], age=15, sex="M", lifestyle={"smoking": "current", "pack_years": 1, "alcohol": 4})[
            "advice"
        ]
    }
    assert {"smoking-teen", "alcohol-teen"} <= teen and "smoking-quit" not in teen


def test_misplaced_territories_are_left_out_and_said_so(care):
    with pytest.raises(InvalidInputError, match="places every facility of Pago Pago, AS outside AS"):
        care.where("Pago Pago, AS", "emergency")
    with pytest.raises(InvalidInputError, match="Guam"):
        care.where((13.47, 144.75), "emergency")  # real Guam coordinates: nothing correctly placed near
    arrays = care._planner.directory.arrays
    assert set(arrays["state"][np.isinf(arrays["offset_km"])]) >= {"GU", "AS", "MP", "VI"}


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m.plan([{"item": "immunization:140", "date": "2020-01-01garbage"}], age=40), "YYYY-MM-DD"),
        (lambda m: m.plan([], age=40, today="0001-01-01"), "between 1900 and 2100"),
        (lambda m: m.plan([], age=40, lifestyle={"smoking": ["current"]}), "lifestyle.smoking"),
        (lambda m: m.plan([], age=40, lifestyle={"smoker": "current", "smoking": "never"}), "given twice"),
        (lambda m: m.plan([], age=40, lifestyle={"smoking": "never", "quit_years": 2}), "never"),
        (lambda m: m.locate({1: 2}), "a dict needs"),
    ],
)
def test_hostile_inputs_get_a_named_refusal(care, call, message):
    with pytest.raises(InvalidInputError, match=message):
        call(care)


def test_friendly_inputs_of_other_types_are_read(care):
    import datetime as dt

    stamp = dt.datetime(2026, 10, 1, 9, 30)
    assert (
        gaps(plan(care, [{"item": "immunization:140", "date": stamp}], age=70, sex="F"))["influenza-vaccine"]["status"]
        == "done"
    )
    assert care.plan([], age=40, lifestyle={"bmi": np.float32(31.0), "activity": np.int64(30)})["advice"]
    assert care.locate({"zip": 68510})[1] == "ZIP 68510" and care.locate({"ZIP": 2134})[1] == "ZIP 02134"
    assert care.locate("40.81, -96.70")[0] == (40.81, -96.7)


def test_the_map_needs_no_internet_unless_a_tile_server_is_configured(monkeypatch):
    from medcore.care.plots import places_figure
    from medcore.core.settings import map_tiles

    places = [
        {"name": "A", "distance_km": 3.0, "address": "1 Main St", "lat": 40.83, "lon": -96.70, "kind": "hospital"}
    ]
    offline = places_figure(LINCOLN, places)
    assert {trace.type for trace in offline.data} == {"scatter"} and offline.layout.map.style is None
    monkeypatch.delenv("MEDCORE_MAP_TILES", raising=False)
    assert map_tiles() is None
    monkeypatch.setenv("MEDCORE_MAP_TILES", "https://tiles.example.org/{z}/{x}/{y}.png")
    tiled = places_figure(LINCOLN, places, tiles=map_tiles())
    assert {trace.type for trace in tiled.data} == {"scattermap"}
    assert tiled.layout.map.style["sources"]["tiles"]["tiles"] == ["https://tiles.example.org/{z}/{x}/{y}.png"]
    monkeypatch.setenv("MEDCORE_MAP_TILES", "tiles.example.org")
    with pytest.raises(ValueError, match="MEDCORE_MAP_TILES"):
        map_tiles()


def test_the_record_timeline_is_labelled():
    from medcore.care.plots import timeline_figure

    figure = timeline_figure(
        [{"date": "2020-01-01", "kind": "condition", "description": "Asthma"}],
        [{"kind": "medication", "description": "Inhaler", "score": 0.5}],
    )
    assert "record by date" in figure.layout.title.text and figure.layout.yaxis.title.text == "kind of record"
    assert "first record" in figure.layout.xaxis.title.text  # issue 28 item 17: the timeline says what it shows
