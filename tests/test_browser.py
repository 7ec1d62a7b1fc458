"""Real-browser tests: start the app, drive Debian's Chromium with Playwright, look at pages.

Marked ``browser``. Chromium comes from ``apt-get install chromium`` (never ``playwright
install``); without it these tests skip with that reason, unless MEDCORE_REQUIRE_BROWSER=1
(set by CI), where a missing browser fails. Screenshots go to tests/screenshots/.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from tests.appserver import CHROMIUM, CHROMIUM_ARGS, ServerStartError, start_server
from tests.conftest import PROJECT, png_bytes

pytestmark = pytest.mark.browser

SHOTS = PROJECT / "tests" / "screenshots"


@pytest.fixture(scope="module")
def server():
    """A real `streamlit run app.py` on 127.0.0.1 and a free port; stopped after the module."""
    if not CHROMIUM.exists():
        if os.environ.get("MEDCORE_REQUIRE_BROWSER") == "1":
            pytest.fail("MEDCORE_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing: apt-get install -y chromium")
        pytest.skip("Chromium not installed: `apt-get install -y chromium` to run the browser tests")
    try:
        app = start_server(timeout=60)
    except ServerStartError as err:
        pytest.fail(str(err))
    yield app.url
    app.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = context.new_page()
    yield page
    context.close()


def _assert_no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, "the page shows an exception"


def _menu(page) -> list[str]:
    """The sidebar's page links once its section headers are drawn (after each link's icon)."""
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_test_id("stNavSectionHeader").first.wait_for(timeout=30_000)
    return [link.inner_text().strip().split("\n")[-1] for link in nav.get_by_role("link").all()]


def test_a_bookmarked_page_opens_on_a_fresh_server(server, browser):  # server: skips without Chromium
    """The first visits of a new server go straight to pages' URLs (bookmarks): no "Page not found", and
    app.py's sectioned menu, not Streamlit's flat list of the pages/ folder's files ("app", "home")."""
    try:
        fresh = start_server(timeout=60)
    except ServerStartError as err:
        pytest.fail(str(err))
    try:
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(f"{fresh.url}/Record_Classification")
        page.get_by_text("then press Analyse").wait_for(timeout=90_000)
        page.wait_for_timeout(1000)  # the dialog, when it comes, comes with the first run
        assert page.get_by_text("Page not found").count() == 0
        assert page.get_by_role("heading", name="Record classification").count() == 1
        from medcore.ui.navigation import PAGES

        titles = [entry.title for entry in PAGES]
        assert _menu(page) == titles  # app.py's sections, though app.py's URL was never opened
        second = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()  # a second bookmark
        second.goto(f"{fresh.url}/Model_Evaluation")
        second.get_by_role("heading", name="Model evaluation").wait_for(timeout=90_000)
        assert _menu(second) == titles
    finally:
        fresh.stop()


def test_home_page_shows_the_models(server, page):
    page.goto(server)
    page.get_by_text("Decision support, not a diagnosis").first.wait_for(timeout=60_000)
    page.get_by_text("pneumonia-cxr").first.wait_for(timeout=30_000)
    assert page.get_by_text("care-recommender").count() >= 1
    _assert_no_exception(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "home.png"), full_page=True)


def test_sidebar_groups_every_page_in_its_section_and_each_opens(server, page):
    """The sidebar holds Home and every page under its section heading; clicking each opens it at its URL."""
    from medcore.ui.navigation import PAGES

    page.goto(server)
    nav = page.get_by_test_id("stSidebarNav")
    sections = list(dict.fromkeys(entry.section for entry in PAGES if entry.section))
    nav.get_by_test_id("stNavSectionHeader").nth(len(sections) - 1).wait_for(timeout=60_000)  # the menu is drawn
    headers = [h.inner_text().strip().split("\n")[0] for h in nav.get_by_test_id("stNavSectionHeader").all()]
    assert headers == sections, headers
    links = [link.inner_text().strip().split("\n")[-1] for link in nav.get_by_role("link").all()]  # after the icon
    assert links == [entry.title for entry in PAGES], links  # in the table's order, Home first (not "app")
    # Material icons (a font Streamlit serves), not emoji that render as empty boxes without an emoji font
    assert all(link.get_by_test_id("stIconMaterial").count() == 1 for link in nav.get_by_role("link").all())
    for entry in PAGES:
        nav.get_by_role("link", name=entry.title, exact=True).click()
        page.get_by_role("heading", level=1).first.wait_for(timeout=60_000)
        page.wait_for_url(f"{server}/{entry.url_path}", timeout=30_000)
        _assert_no_exception(page)
    _shot(page, "navigation")


@pytest.mark.data
def test_a_chest_xray_uploaded_on_the_breast_model_is_read_by_the_xray_model(server, page, tmp_path, ct_small, genuine):
    """Choose breast ultrasound, upload a chest X-ray and a CT: the X-ray model is preselected and answers,
    the CT is refused, and no breast result appears anywhere."""
    import medcore

    image = genuine["pneumonia-cxr"][6]
    xray = tmp_path / "chest.png"
    xray.write_bytes(png_bytes(np.asarray(Image.fromarray(image).resize((224, 224), Image.Resampling.BICUBIC))))
    dicom = tmp_path / "CT_small.dcm"
    dicom.write_bytes(ct_small)
    page.goto(f"{server}/Image_Diagnosis")
    page.get_by_text("Upload an image to see").wait_for(timeout=60_000)
    page.locator("[data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name="Breast ultrasound").click()
    page.get_by_text("breast ultrasound images of women").first.wait_for(timeout=60_000)
    page.locator("input[type='file']").set_input_files([str(xray), str(dicom)])
    page.get_by_text("Results for 2 files").wait_for(timeout=90_000)
    page.get_by_text("Grad-CAM: evidence for").first.wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=30_000)  # probability bars and the heatmap overlay
    _assert_no_exception(page)
    body = page.locator("[data-testid='stMain']").inner_text()
    assert "paediatric chest X-rays" in body  # the X-ray model's intended use: preselected for what the upload is
    assert "malignant" not in body.lower()  # no breast result anywhere
    assert "Not analysed: 'CT_small.dcm'" in body
    expected = medcore.load_model("pneumonia-cxr").analyse([("chest.png", xray.read_bytes())])[0]
    assert f"Result: {expected.decision}" in body
    assert f"P(pneumonia) {100 * expected.probabilities['pneumonia']:.1f} %" in body
    assert "operating threshold (chosen to keep sensitivity" in body and "Read by the 128 px network" in body
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "image_diagnosis.png"), full_page=True)


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_record_classification_masks_and_shows_the_models_ranking(server, page):
    note = (
        "Patients with acute myocardial infarction received early coronary angioplasty; ejection fraction was "
        "followed for a year. Call 555-123-4567."
    )
    page.goto(f"{server}/Record_Classification")
    page.get_by_text("then press Analyse").wait_for(timeout=90_000)  # the first run (model load) has finished
    area = page.locator("textarea").first
    area.fill(note)
    area.press("Control+Enter")
    page.get_by_text("Words that pushed towards the top class").wait_for(timeout=60_000)
    page.get_by_text("Masked before analysis").wait_for(timeout=30_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)  # the top-5 bar chart
    _assert_no_exception(page)
    shown = page.locator("[data-testid='stMain']").inner_text()
    assert "555-123-4567" not in shown.replace(area.input_value(), "")  # gone from everything but the box itself
    import medcore
    from medcore.core.cards import percent

    model = medcore.load_model("abstract-topic")
    proba = model.predict_proba([model.prepare(note.replace("555-123-4567", "[PHONE]"))[0]])[0]
    top = model.labels[int(proba.argmax())]
    chart = page.locator(".js-plotly-plot").first.inner_text()
    assert top in chart and percent(proba.max()) in chart, (top, chart)  # the bars' own words ("85.5 %")
    _shot(page, "record_classification_text")


def test_symptom_assessment_triage_first_then_an_answer_updates_it(server, page):
    page.goto(f"{server}/Symptom_Assessment")
    page.get_by_text("then press Assess").wait_for(timeout=90_000)
    page.locator("textarea").first.fill("Chest pain since this morning, I'm 35")
    page.get_by_role("button", name="Assess").click()
    page.get_by_text("Triage: URGENT.").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)  # the differential
    _assert_no_exception(page)
    # the first question is a red flag one answer away; "Yes" makes it an emergency
    page.get_by_role("button", name="Yes").first.click()
    page.get_by_text("Triage: EMERGENCY.").wait_for(timeout=60_000)
    assert page.get_by_text("NICE CG95").first.is_visible()
    _assert_no_exception(page)
    _shot(page, "symptom_assessment")
    # The emergency leads to the nearest emergency departments: follow the link, say where we are.
    link = page.get_by_role("link", name="Nearest emergency departments", exact=False).first
    assert "need=emergency" in link.get_attribute("href")
    page.goto(server + link.get_attribute("href"))
    page.get_by_text("Where to go now: nearest emergency departments").wait_for(timeout=60_000)
    where = page.get_by_label("Where are you?", exact=False)
    where.fill("Lincoln, NE")
    where.press("Enter")
    page.get_by_text("In an emergency call 911").first.wait_for(timeout=60_000)
    page.get_by_text("Nearest hospital with an emergency department", exact=False).first.wait_for(timeout=30_000)
    _assert_no_exception(page)
    _shot(page, "care_plan_emergency")


def test_service_recommendation_for_a_patient(server, page):
    page.goto(f"{server}/Service_Recommendation")
    page.get_by_text("Care gaps from guidelines").wait_for(timeout=60_000)
    page.locator("[data-testid='stTable']").first.wait_for(timeout=30_000)
    page.get_by_text("Nearest right places").wait_for(timeout=30_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)  # the offline map
    _assert_no_exception(page)
    _shot(page, "service_recommendation")


def test_model_evaluation_shows_cards_and_charts(server, page):
    page.goto(f"{server}/Model_Evaluation")
    page.get_by_text("Intended use").first.wait_for(timeout=60_000)
    page.get_by_role("tab", name="Validation charts").click()
    page.get_by_text("Confusion matrix").first.wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").nth(2).wait_for(timeout=30_000)
    _assert_no_exception(page)
    _shot(page, "model_evaluation")


def test_model_evaluation_on_an_uploaded_text_csv(server, page, tmp_path):
    page.goto(f"{server}/Model_Evaluation")
    page.locator("[data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name="symptom-text", exact=False).first.click()
    page.get_by_role("tab", name="Evaluate on your data").click()
    notes = tmp_path / "ward_notes.csv"
    notes.write_text(
        "label,text\n"
        "Psoriasis,I have silvery scaly itchy patches on my elbows and knees\n"
        "Diabetes,I am always thirsty and I urinate very often; my vision is blurry\n"
        "Malaria,High fever with chills and shivering every other day and heavy sweating\n"
    )
    page.locator("input[type='file']").first.set_input_files(str(notes))
    page.get_by_text("Your data beside the shipped validation figures").wait_for(timeout=60_000)
    page.get_by_text("Download per-sample predictions").wait_for(timeout=30_000)
    _assert_no_exception(page)
    _shot(page, "model_evaluation_own_data")
    wrong = tmp_path / "wrong_columns.csv"  # a new name: the same path again would not fire a change
    wrong.write_text("label,words\nPsoriasis,itchy\n")
    page.locator("input[type='file']").first.set_input_files(str(wrong))
    page.get_by_text("no text column").wait_for(timeout=60_000)
    _assert_no_exception(page)


def test_survival_form_to_curve_and_what_if(server, page):
    page.goto(f"{server}/Survival_Risk")
    page.get_by_text("press Predict").wait_for(timeout=90_000)
    age = page.get_by_role("spinbutton", name="Age at surgery (years)")
    age.fill("62")
    age.press("Tab")
    nodes = page.get_by_role("spinbutton", name="Number of positive lymph nodes (nodes)")
    nodes.fill("9")
    nodes.press("Tab")
    page.get_by_role("button", name="Predict").click()
    page.get_by_text("Predicted survival for this patient").wait_for(timeout=60_000)
    page.get_by_text("Training cohort by thirds of risk").wait_for(timeout=30_000)
    page.get_by_text("What drives this risk").wait_for(timeout=30_000)
    _assert_no_exception(page)
    import medcore

    model = medcore.load_model("survival-gbsg")
    result = model.analyse([model.reference_row | {"age": 62.0, "positive_nodes": 9}])[0]
    metrics = page.locator("[data-testid='stMetric']").all_inner_texts()
    assert any(f"{result['survival@5y']:.0%}" in m and "Relapse-free survival at 5y" in m for m in metrics), metrics
    page.get_by_text("Hormonal therapy given: switch to").click()
    page.get_by_text("not proof of what the treatment").wait_for(timeout=60_000)
    _assert_no_exception(page)
    _shot(page, "survival_risk")


def test_drug_activity_draws_the_molecule_and_predicts(server, page):
    page.goto(f"{server}/Drug_Activity")
    page.get_by_text("Type a SMILES").wait_for(timeout=90_000)
    box = page.get_by_role("textbox", name="SMILES")
    box.fill("CC(=O)Oc1ccccc1C(=O)O")
    box.press("Enter")
    page.get_by_text("Most similar training molecules").wait_for(timeout=60_000)
    _assert_no_exception(page)
    page.locator("[data-testid='stImage']").nth(5).wait_for(timeout=30_000)  # the molecule and its 5 neighbours
    import medcore

    result = medcore.load_model("drug-bbbp").analyse(["CC(=O)Oc1ccccc1C(=O)O"])[0]
    shown = page.locator("[data-testid='stMetric']").all_inner_texts()
    if result["out_of_domain"]:
        page.get_by_text("Outside the applicability domain").first.wait_for(timeout=10_000)
    else:
        assert any(f"{result['predictions']['p_np']:.0%}" in m for m in shown), shown
    _shot(page, "drug_activity")


def test_literature_extraction_highlights_a_pasted_abstract(server, page):
    page.goto(f"{server}/Literature_Extraction")
    page.get_by_text("then press Extract").wait_for(timeout=90_000)
    from medcore.literature.data import EXAMPLES

    text = EXAMPLES["drug side effect (abstract)"]
    area = page.locator("textarea").first
    area.fill(text)
    area.press("Control+Enter")
    page.get_by_text("Chemical → disease relations", exact=True).wait_for(timeout=60_000)
    _assert_no_exception(page)
    import medcore

    result = medcore.load_model("literature-extraction").extract(text)
    marks = page.locator("mark.medcore-chemical, mark.medcore-disease")
    marks.first.wait_for(timeout=30_000)
    assert marks.count() == len(result["entities"]) > 0
    assert marks.first.get_attribute("title").startswith(result["entities"][0]["type"])
    assert marks.first.inner_text() == result["entities"][0]["text"]
    _shot(page, "literature_extraction")


def test_a_breast_ultrasound_shows_the_lesion_outline(server, page, tmp_path, data_dir):
    with np.load(data_dir / "busi_segmentation" / "busi_seg_trainval.npz", allow_pickle=False) as data:
        val = np.nonzero(data["breastmnist_split"] == "val")[0]
        images, labels = data["images"][val], data["labels"][val]
    from tests.segmentation.test_page import analysed_frame

    frame = analysed_frame(images, labels)
    path = tmp_path / "breast.png"
    path.write_bytes(png_bytes(frame))
    page.goto(f"{server}/Image_Diagnosis")
    page.get_by_text("Upload an image to see").wait_for(timeout=60_000)
    page.locator("input[type='file']").set_input_files([str(path)])
    page.get_by_text("Lesion outline", exact=True).wait_for(timeout=90_000)
    page.get_by_text("Lesion outline (green)").first.wait_for(timeout=60_000)  # the outline figure's title
    _assert_no_exception(page)
    import medcore

    found = medcore.load_model("breast-lesion-segmentation").analyse([frame])[0]["measures"]["lesion_found"]
    page.get_by_text("% of the image" if found else "No lesion was outlined").first.wait_for(timeout=30_000)
    body = page.locator("[data-testid='stMain']").inner_text()
    assert ("% of the image" in body) == found and ("No lesion was outlined" in body) == (not found)
    _shot(page, "lesion_outline")


@pytest.mark.data
@pytest.mark.slow
def test_the_image_text_and_literature_pages_run_their_models_on_a_remote_model_service(
    server, browser, tmp_path, data_dir
):
    """MEDCORE_MODEL_SERVER: a breast ultrasound is routed, classified, explained and outlined, a note
    ranked and explained, an abstract's mentions and relations extracted, all by the model service;
    the dashboard process never imports TensorFlow."""
    import httpx

    from medcore.literature.data import EXAMPLES
    from tests.appserver import running_server
    from tests.segmentation.test_page import analysed_frame

    with np.load(data_dir / "busi_segmentation" / "busi_seg_trainval.npz", allow_pickle=False) as data:
        val = np.nonzero(data["breastmnist_split"] == "val")[0]
        frame = analysed_frame(data["images"][val], data["labels"][val])
    path = tmp_path / "breast.png"
    path.write_bytes(png_bytes(frame))
    served = (
        "breast-ultrasound",
        "image-modality",
        "breast-lesion-segmentation",
        "abstract-topic",
        "literature-extraction",
    )
    with running_server(service=True, timeout=240) as service:
        with running_server(env={"MEDCORE_MODEL_SERVER": service.url}) as app:
            context = browser.new_context(viewport={"width": 1400, "height": 1800})
            page = context.new_page()
            page.goto(f"{app.url}/Image_Diagnosis")
            page.get_by_text("Upload an image to see").wait_for(timeout=60_000)
            page.locator("input[type='file']").set_input_files([str(path)])
            page.get_by_text("Grad-CAM: evidence for").first.wait_for(timeout=90_000)
            page.get_by_text("Lesion outline (green)").first.wait_for(timeout=60_000)
            _assert_no_exception(page)
            body = page.locator("[data-testid='stMain']").inner_text()
            _shot(page, "image_diagnosis_remote")
            page.goto(f"{app.url}/Record_Classification")
            page.get_by_text("then press Analyse").wait_for(timeout=90_000)
            page.locator("textarea").first.fill("Early coronary angioplasty after acute myocardial infarction")
            page.locator("textarea").first.press("Control+Enter")
            page.get_by_text("Words that pushed towards the top class").wait_for(timeout=60_000)
            _assert_no_exception(page)
            page.goto(f"{app.url}/Literature_Extraction")
            page.get_by_text("then press Extract").wait_for(timeout=90_000)
            page.locator("textarea").first.fill(EXAMPLES["drug side effect (abstract)"])
            page.locator("textarea").first.press("Control+Enter")
            page.get_by_text("Chemical → disease relations", exact=True).wait_for(timeout=60_000)
            page.locator("mark.medcore-chemical").first.wait_for(timeout=30_000)
            _assert_no_exception(page)
            _shot(page, "literature_remote")
            context.close()
            with open(f"/proc/{app.pid}/maps", encoding="utf-8") as maps:
                assert "tensorflow" not in maps.read(), "the dashboard loaded TensorFlow itself"
        metrics = httpx.get(f"{service.url}/metrics").text
    for name in served:
        assert f'model="{name}",status="200"' in metrics, f"{name} did not run on the service"
    import medcore

    expected = medcore.load_model("breast-ultrasound").analyse([("breast.png", path.read_bytes())])[0]
    assert f"Result: {expected.decision}" in body


def test_the_care_map_uses_a_configured_tile_server_and_no_other(server, browser):  # server: skips without Chromium
    """With MEDCORE_MAP_TILES the map asks that server for tiles; the page asks no other host."""
    import io
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 230, 200)).save(buffer, format="PNG")
    tile, asked = buffer.getvalue(), []

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(tile)

        def log_message(self, *args):
            pass

    tiles = ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    threading.Thread(target=tiles.serve_forever, daemon=True).start()
    template = f"http://127.0.0.1:{tiles.server_address[1]}/{{z}}/{{x}}/{{y}}.png"
    try:
        app = start_server(timeout=60, env={"MEDCORE_MAP_TILES": template})
    except ServerStartError as err:
        pytest.fail(str(err))
    try:
        page = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()
        hosts = set()
        page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
        page.goto(f"{app.url}/Service_Recommendation")
        page.get_by_text("Nearest right places").wait_for(timeout=90_000)
        page.get_by_text("Rings mark the distance").first.wait_for(timeout=60_000)
        page.wait_for_timeout(3000)
        _assert_no_exception(page)
        assert asked and all(path.endswith(".png") for path in asked), asked
        assert hosts <= {app.url.split("/")[2], f"127.0.0.1:{tiles.server_address[1]}"}, hosts
        page.screenshot(path=str(SHOTS / "care_plan_tiles.png"), full_page=True)
    finally:
        app.stop()
        tiles.shutdown()
