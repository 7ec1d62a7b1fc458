"""Mask obvious identifiers in free text before it is analysed, shown or kept.

Regular expressions for e-mail addresses, URLs, phone numbers (international, US and UK),
dates (including "March 2023"), record numbers (MRN and similar), US social-security numbers,
UK NHS numbers and postcodes, and names that follow a title ("Dr Jones") or a label ("Name:",
"my name is"). Each match becomes a tag such as ``[EMAIL]``; the caller learns what kinds were
masked and how many, never the values. This is a safety net for obvious patterns, not a full
de-identification: a name written without a title or label is not detected.
"""

from __future__ import annotations

import re

__all__ = ["mask_identifiers", "PATTERNS"]

# Order matters: longer, more specific patterns first, so a date is not read as a phone number.
PATTERNS: list[tuple[str, str, re.Pattern]] = [
    ("e-mail address", "[EMAIL]", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("URL", "[URL]", re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)),
    (
        "record number",
        "[RECORD]",
        re.compile(
            r"\b(?:MRN|NHS|record|patient|chart|hospital|case|ID)\s*(?:no\.?|number|#|:)?\s*[:#]?\s*[A-Z]{0,3}\d[\d-]{4,}\b",
            re.IGNORECASE,
        ),
    ),
    (
        "social security number",
        "[SSN]",
        re.compile(
            r"\b\d{3}-\d{2}-\d{4}\b|\b(?:SSN|social security(?: number| no\.?)?)\s*[:#]?\s*\d{3}[\s-]?\d{2}[\s-]?\d{4}\b",
            re.IGNORECASE,
        ),
    ),
    # International numbers (+country code) before NHS numbers, whose 10 digits they can contain.
    ("phone number", "[PHONE]", re.compile(r"(?<![\w+])\+\d{1,3}(?:[\s.-]?\(?\d{1,5}\)?){2,5}(?!\w)")),
    ("NHS number", "[NHS]", re.compile(r"\b\d{3}[ -]?\d{3}[ -]?\d{4}\b")),  # kept only if the check digit fits
    (
        "date",
        "[DATE]",
        re.compile(
            r"\b(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2}|"
            r"\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?\s+\d{4}|"
            r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}|"
            r"(?:january|february|march|april|may|june|july|august|september|october|november|december|"
            r"jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?,?\s+(?:19|20)\d{2})\b",
            re.IGNORECASE,
        ),
    ),
    # UK mobiles and landlines written as 11 digits from 0 (07700 900123, 02079460958).
    ("phone number", "[PHONE]", re.compile(r"(?<!\w)0\d{3,4}[\s-]?\d{3}[\s-]?\d{3,4}(?!\w)")),
    (
        "phone number",
        "[PHONE]",
        re.compile(r"(?<!\w)(?:\+?\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{2,4}[\s.-])\d{3,4}[\s.-]\d{3,4}\b"),
    ),
    ("postcode", "[POSTCODE]", re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b")),  # UK, upper case only
    (
        "name",
        "[NAME]",
        re.compile(
            r"(?:\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame)\.?\s+|"
            r"\b(?i:patient name|name)\s*[:\-]\s*|\b(?i:my name is|name is)\s+)"
            r"[A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+){0,2}"
        ),
    ),
]


def mask_identifiers(text: str) -> tuple[str, list[dict]]:
    """Replace obvious identifiers with tags.

    Args:
        text: free text.

    Returns:
        ``(masked_text, findings)``: findings lists ``{"kind", "tag", "count"}`` for each kind
        found (never the matched values).
    """
    findings = []
    for kind, tag, pattern in PATTERNS:
        if tag == "[NHS]":
            text, count = _mask_nhs(pattern, text)
        else:
            text, count = pattern.subn(tag, text)
        if count:
            findings.append({"kind": kind, "tag": tag, "count": count})
    return text, findings


def _nhs_check_digit_ok(digits: str) -> bool:
    """The NHS number modulus-11 check: weights 10..2 over the first nine digits."""
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _mask_nhs(pattern: re.Pattern, text: str) -> tuple[str, int]:
    count = 0

    def replace(match: re.Match) -> str:
        nonlocal count
        digits = re.sub(r"\D", "", match.group())
        if _nhs_check_digit_ok(digits):
            count += 1
            return "[NHS]"
        return match.group()  # not an NHS number; the phone pattern may still mask it

    return pattern.sub(replace, text), count
