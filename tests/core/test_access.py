"""Optional login: password hashes, pages locked until sign-in, and the loopback notice without it."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from medcore.core.access import hash_password, verify_password
from tests.conftest import PROJECT


def test_hash_round_trip_and_salting():
    stored = hash_password("correct horse", iterations=1000)
    assert stored.startswith("pbkdf2_sha256$1000$") and "correct horse" not in stored
    assert verify_password("correct horse", stored)
    assert not verify_password("wrong horse", stored)
    assert hash_password("correct horse", iterations=1000) != stored  # a new salt each time
    assert not verify_password("x", "garbage") and not verify_password("x", "md5$1$00$00")


def _locked(page: str) -> AppTest:
    app = AppTest.from_file(str(PROJECT / page), default_timeout=60)
    app.secrets["medcore_users"] = {"dr_smith": hash_password("s3cret-pass", iterations=1000)}
    return app.run()


def test_every_page_requires_a_login_when_users_are_configured():
    for page in (
        "app.py",
        "pages/Image_Diagnosis.py",
        "pages/Record_Classification.py",
        "pages/Service_Recommendation.py",
        "pages/Model_Evaluation.py",
    ):
        app = _locked(page)
        assert not app.exception
        assert [button.label for button in app.button] == ["Sign in"], page
        assert not app.get("plotly_chart") and not app.table and not app.file_uploader, page


def test_wrong_password_is_refused_and_right_one_opens_the_page():
    app = _locked("app.py")
    app.text_input[0].input("dr_smith")
    app.text_input[1].input("guess")
    app.button[0].click().run()
    assert any("wrong password" in error.value for error in app.error)
    app.text_input[1].input("s3cret-pass")
    app.button[0].click().run()
    assert not app.exception and app.table  # the models table is shown after sign-in


def test_without_users_the_home_page_says_it_listens_on_loopback_only():
    app = AppTest.from_file(str(PROJECT / "app.py"), default_timeout=60).run()
    assert any("127.0.0.1 only" in caption.value for caption in app.caption)
