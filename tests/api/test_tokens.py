"""API tokens: only hashes are stored, a presented token is checked once per process, files are strict."""

from __future__ import annotations

import pytest

from medcore.api import tokens as tokens_module
from medcore.api.tokens import Token, TokenTable, load_tokens, new_token


def test_a_new_token_is_stored_only_as_a_hash_that_verifies_it(tmp_path, monkeypatch):
    token, lines = new_token("pacs")
    assert token.startswith("mc_") and token not in lines and "pbkdf2_sha256$" in lines
    restricted, limited_lines = new_token("triage", ["symptom-text"])
    path = tmp_path / "tokens.toml"
    path.write_text(lines + "\n" + limited_lines + "\n")
    monkeypatch.setenv("MEDCORE_API_TOKENS", str(path))
    table = load_tokens()
    assert table.identify(token).name == "pacs" and table.identify(token).allows("drug-bbbp")
    assert table.identify(restricted).models == ("symptom-text",) and not table.identify(restricted).allows("drug-bbbp")
    assert table.identify(token + "x") is None and table.identify("") is None


def test_each_presented_token_costs_one_pbkdf2_check_per_process(monkeypatch):
    token, _ = new_token("a")
    table = TokenTable([Token("a", tokens_module.hash_password(token, iterations=1000))])
    calls = []
    real = tokens_module.verify_password
    monkeypatch.setattr(tokens_module, "verify_password", lambda *a: calls.append(1) or real(*a))
    for _ in range(5):
        assert table.identify(token).name == "a"
        assert table.identify("mc_wrong") is None
    assert len(calls) == 2, "one check for the good token, one for the wrong one"
    assert token not in repr(table._known), "the memo keeps no token in clear"


def test_token_files_that_are_missing_or_malformed_stop_the_service(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDCORE_API_TOKENS", str(tmp_path / "absent.toml"))
    with pytest.raises(ValueError, match="does not exist"):
        load_tokens()
    bad = tmp_path / "bad.toml"
    bad.write_text('[medcore_api_tokens]\npacs = "plain-text-token"\n')
    monkeypatch.setenv("MEDCORE_API_TOKENS", str(bad))
    with pytest.raises(ValueError, match="no PBKDF2 hash"):
        load_tokens()
    bad.write_text("[medcore_api_tokens\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_tokens()
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    monkeypatch.setenv("MEDCORE_API_TOKENS", str(empty))
    assert not load_tokens()
