"""The model service under test: one in-process app (FastAPI's TestClient) over the shipped bundles,
and helpers to call it."""

from __future__ import annotations

import time

import pytest

from medcore.api.app import create_app
from medcore.api.tokens import Token, TokenTable
from medcore.core.access import hash_password

LOOPBACK_CLIENT = ("127.0.0.1", 50000)


def wait_ready(client, timeout: float = 300) -> dict:
    """Poll /readyz until 200 (every model loaded); the last body."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/readyz")
        if response.status_code == 200 or time.monotonic() > deadline:
            return response.json()
        time.sleep(0.5)


@pytest.fixture(scope="session")
def service():
    """A TestClient of the service without tokens, called from loopback, every shipped model loaded."""
    from fastapi.testclient import TestClient

    with TestClient(create_app(tokens=TokenTable([])), client=LOOPBACK_CLIENT) as client:
        body = wait_ready(client)
        assert body["ready"], body
        yield client


@pytest.fixture(scope="session")
def token_values() -> dict[str, str]:
    return {"pacs": "mc_pacs_secret_value", "triage": "mc_triage_secret_value"}


@pytest.fixture(scope="session")
def guarded(token_values):
    """A TestClient of the same service with two tokens: 'pacs' (every model) and 'triage' (two models)."""
    from fastapi.testclient import TestClient

    tokens = TokenTable(
        [
            Token("pacs", hash_password(token_values["pacs"], iterations=1000)),
            Token(
                "triage", hash_password(token_values["triage"], iterations=1000), ("symptom-text", "symptom-checklist")
            ),
        ]
    )
    with TestClient(create_app(tokens=tokens), client=("10.1.2.3", 40000)) as client:
        assert wait_ready(client)["ready"]
        yield client
