"""The Symptom assessment page (AppTest): triage banner first, findings, differential, questions, refusals."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import PROJECT

PAGE = str(PROJECT / "pages" / "Symptom_Assessment.py")


def _assessed(text: str) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=60).run()
    app.text_area[0].input(text)
    app.button[0].click().run()  # the form's Assess button
    return app


def test_the_triage_banner_comes_first_with_its_reasons_and_the_model_ranking():
    app = _assessed("Crushing chest pain going down my left arm, sweating and nausea for 30 minutes")
    assert not app.exception
    banner = app.error[0].value
    assert banner.startswith("**Triage: EMERGENCY.**") and "ambulance" in banner
    assert any("heart attack" in block.value.lower() and "NICE CG95" in block.value for block in app.markdown)
    present = app.multiselect[1]
    assert {"chest_pain", "radiating_arm_jaw", "sweating"} <= set(present.value)
    # An emergency leads straight to the nearest emergency departments of the care plan.
    assert any("/Service_Recommendation?need=emergency" in block.value for block in app.markdown)


def test_answering_a_question_updates_the_assessment():
    app = _assessed("chest pain since this morning")
    assert app.warning[0].value.startswith("**Triage: URGENT.**")
    assert any("/Service_Recommendation?need=urgent+care" in block.value for block in app.markdown)
    yes = next(button for button in app.button if button.label == "Yes")
    yes.click().run()
    assert app.error[0].value.startswith("**Triage: EMERGENCY.**")


def test_removing_a_misread_finding_changes_the_result():
    app = _assessed("chest pain and sweating since this morning")
    assert app.error[0].value.startswith("**Triage: EMERGENCY.**")
    app.multiselect[1].set_value([name for name in app.multiselect[1].value if name != "sweating"]).run()
    assert "sweating" not in app.multiselect[1].value and "chest_pain" in app.multiselect[1].value
    assert app.warning[0].value.startswith("**Triage: URGENT.**")  # the heart-attack red flag no longer fires


def test_gibberish_gets_a_reason_and_no_banner():
    app = _assessed("asdkj qwpoe zmxnv lkjh")
    assert not app.exception
    assert any("English" in error.value for error in app.error)
    assert not any("Triage:" in e.value for e in [*app.error, *app.warning, *app.info, *app.success])


def test_ticked_symptoms_and_a_no_answer_are_assessed_and_listed():
    app = AppTest.from_file(PAGE, default_timeout=60).run()
    app.multiselect[0].set_value(["cough", "fever", "pleuritic_pain"])
    app.button[0].click().run()
    assert not app.exception
    assert app.warning[0].value.startswith("**Triage: URGENT.**")  # a chest infection
    assert set(app.multiselect[1].value) == {"cough", "fever", "pleuritic_pain"}
    no = next(button for button in app.button if button.label == "No")
    denied = no.key.removeprefix("sa-no-")
    no.click().run()
    assert any("**Denied:**" in md.value for md in app.markdown)
    assert f"sa-no-{denied}" not in [button.key for button in app.button]  # not asked again
