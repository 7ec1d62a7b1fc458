"""Optional access control: salted PBKDF2 password hashes kept in ``.streamlit/secrets.toml``.

With no users configured the app runs without a login and listens on 127.0.0.1 only (see
``.streamlit/config.toml``). To require a login, add users with hashed passwords::

    python -m medcore.core.access          # prompts for a password, prints a hash
    # .streamlit/secrets.toml
    [medcore_users]
    dr_smith = "pbkdf2_sha256$260000$<salt>$<hash>"

Only hashes are stored; ``verify_password`` compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["hash_password", "verify_password", "ITERATIONS"]

ITERATIONS = 260_000


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """A storable hash ``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>`` of ``password``."""
    if not password:
        raise ValueError("The password is empty; choose one of at least 8 characters.")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches a hash from ``hash_password`` (False for malformed hashes)."""
    try:
        scheme, iterations, salt, expected = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt), int(iterations))
    except (ValueError, AttributeError):
        return False
    return hmac.compare_digest(digest.hex(), expected)


if __name__ == "__main__":
    import getpass

    try:
        first = getpass.getpass("New password: ")
        again = getpass.getpass("Again: ")
    except (EOFError, KeyboardInterrupt):
        raise SystemExit("No password was typed: run this in a terminal and type the password twice.") from None
    if len(first) < 8 or first != again:
        raise SystemExit("Passwords differ or are shorter than 8 characters.")
    print(hash_password(first))
