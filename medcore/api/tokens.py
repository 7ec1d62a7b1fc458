"""API tokens for the model service: stored as salted PBKDF2 hashes, never in clear.

Tokens live in ``.streamlit/secrets.toml`` (beside the app's users) or in the TOML file named by
``MEDCORE_API_TOKENS``::

    [medcore_api_tokens]
    pacs = "pbkdf2_sha256$260000$<salt>$<hash>"           # every model
    [medcore_api_tokens.triage]                           # only these models
    hash = "pbkdf2_sha256$260000$<salt>$<hash>"
    models = ["symptom-text", "symptom-checklist"]

Make one with ``python -m medcore.api.tokens NAME [--models a,b]``: it prints the token once
(give it to the calling system) and the lines to paste. With no tokens configured the service
serves loopback callers only and binds to 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path

from medcore.core.access import hash_password, verify_password
from medcore.core.settings import PROJECT_ROOT

__all__ = ["Token", "TokenTable", "load_tokens", "new_token"]

SECTION = "medcore_api_tokens"


@dataclass(frozen=True)
class Token:
    """One configured token: its name (kept in the audit log), its hash and the models it may use."""

    name: str
    hash: str
    models: tuple[str, ...] | None = None  # None: every model

    def allows(self, model: str) -> bool:
        """True when this token may call ``model``."""
        return self.models is None or model in self.models


class TokenTable:
    """The configured tokens; ``identify`` checks a presented token (PBKDF2 once, then a keyed memo)."""

    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self._key = secrets.token_bytes(32)  # per process: memo keys mean nothing outside it
        self._known: dict[str, Token | None] = {}
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self.tokens)

    def identify(self, presented: str) -> Token | None:
        """The token matching ``presented``, or None.

        PBKDF2 costs ~0.2 s, so each presented value is checked once per process and the
        outcome memoised under an HMAC of it (the value itself is not kept); the memo of
        unknown values is bounded.
        """
        memo_key = hmac.new(self._key, presented.encode("utf-8"), hashlib.sha256).hexdigest()
        with self._lock:
            if memo_key in self._known:
                return self._known[memo_key]
        found = next((t for t in self.tokens if verify_password(presented, t.hash)), None)
        with self._lock:
            if found is None and sum(v is None for v in self._known.values()) >= 1024:
                self._known = {k: v for k, v in self._known.items() if v is not None}
            self._known[memo_key] = found
        return found


def load_tokens() -> TokenTable:
    """The tokens of ``$MEDCORE_API_TOKENS`` (a TOML file) or else ``.streamlit/secrets.toml``.

    Raises:
        ValueError: the file named by ``MEDCORE_API_TOKENS`` is missing or malformed (the service
            refuses to start rather than run open).
    """
    configured = os.environ.get("MEDCORE_API_TOKENS")
    path = Path(configured).expanduser() if configured else PROJECT_ROOT / ".streamlit" / "secrets.toml"
    if not path.is_file():
        if configured:
            raise ValueError(f"MEDCORE_API_TOKENS names '{path}', which does not exist. Create it or unset it.")
        return TokenTable([])
    try:
        section = tomllib.loads(path.read_text(encoding="utf-8")).get(SECTION, {})
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ValueError(f"'{path}' is not valid TOML ({err}); fix it before starting the service.") from None
    tokens = []
    for name, entry in section.items():
        stored, models = (entry, None) if isinstance(entry, str) else (entry.get("hash"), entry.get("models"))
        if not isinstance(stored, str) or not stored.startswith("pbkdf2_sha256$"):
            raise ValueError(
                f"Token '{name}' in '{path}' has no PBKDF2 hash; make one with `python -m medcore.api.tokens {name}`."
            )
        tokens.append(Token(name, stored, tuple(models) if models is not None else None))
    return TokenTable(tokens)


def new_token(name: str, models: list[str] | None = None) -> tuple[str, str]:
    """A fresh random token and the TOML lines that store its hash under ``name``."""
    token = "mc_" + secrets.token_urlsafe(32)
    stored = hash_password(token)
    if models:
        listed = ", ".join(f'"{m}"' for m in models)
        lines = f'[{SECTION}.{name}]\nhash = "{stored}"\nmodels = [{listed}]'
    else:
        lines = f'[{SECTION}]\n{name} = "{stored}"'
    return token, lines


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m medcore.api.tokens", description="Make an API token.")
    parser.add_argument("name", help="who uses it (kept in the audit log), e.g. pacs")
    parser.add_argument("--models", help="comma-separated models it may call (default: every model)")
    args = parser.parse_args()
    token, lines = new_token(args.name, [m for m in (args.models or "").split(",") if m] or None)
    print(f"Token (shown once; give it to the calling system):\n  {token}\n")
    print(f"Add to .streamlit/secrets.toml or the file named by MEDCORE_API_TOKENS:\n{lines}")
