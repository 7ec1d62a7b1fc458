"""The exceptions medcore raises, and what each one means.

    MedcoreError                  base of everything medcore raises on purpose
    ├── InvalidInputError         (also a ValueError) the caller's input is unusable:
    │                             the message says what was received, what was expected
    │                             and how to fix it; safe to show to a user as it is
    ├── ModelNotFoundError        (also a KeyError) no bundle of that name in the models folder
    └── BundleIntegrityError      a bundle is incomplete, or a file's sha256 does not match
                                  its card: the model refuses to load

Pages catch ``MedcoreError`` and show ``str(err)``; nothing else is shown to a user.
"""

from __future__ import annotations

__all__ = ["MedcoreError", "InvalidInputError", "ModelNotFoundError", "BundleIntegrityError"]


class MedcoreError(Exception):
    """Base class of the errors medcore raises on purpose."""


class InvalidInputError(MedcoreError, ValueError):
    """Input that cannot be used; the message says what was wrong and what to do."""


class ModelNotFoundError(MedcoreError, KeyError):
    """No model bundle of the requested name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "model not found"


class BundleIntegrityError(MedcoreError):
    """A model bundle is incomplete or does not match the sha256 recorded in its card."""
