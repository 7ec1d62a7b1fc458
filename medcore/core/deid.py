"""Mask obvious identifiers in free text before it is analysed, shown or kept.

Regular expressions for e-mail addresses, URLs, phone numbers (international, US and UK),
dates (including "March 2023"), record numbers (MRN and similar), US social-security numbers,
UK NHS numbers and postcodes, and names that follow a title ("Dr Jones") or a label ("Name:",
"my name is"). Each match becomes a tag such as ``[EMAIL]``; the caller learns what kinds were
masked and how many, never the values. Numbers that only look like dates or phones ("95 % CI
0.33-0.81", "2.5-10.0 mg", "12 345 patients") are hidden from the patterns and put back. This is a
safety net for obvious patterns, not a full de-identification: a name written without a title or
label is not detected.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["mask_identifiers", "masking_notice", "mask_keeping_numbers", "NUMBER_PATTERNS", "PATTERNS"]

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


def masking_notice(findings: list[dict], before: str = "analysis") -> str:
    """What was masked, and what masking cannot promise, e.g. "Masked before analysis: 1 date. Names are
    caught only after a title or label ..."; "" when nothing was masked."""
    if not findings:
        return ""
    return (
        f"Masked before {before}: " + ", ".join(f"{f['count']} {f['kind']}" for f in findings) + ". Names are "
        "caught only after a title or a label (Mr, Dr, Name:): remove any other name before sharing the text."
    )


def mask_identifiers(text: str) -> tuple[str, list[dict]]:
    """Replace obvious identifiers with tags; numbers, doses, intervals and p-values stay as written.

    Args:
        text: free text.

    Returns:
        ``(masked_text, findings)``: findings lists ``{"kind", "tag", "count"}`` for each kind
        found (never the matched values).
    """
    return mask_keeping_numbers(text, _mask_patterns)


_UNITS = (
    r"(?:mg|g|kg|µg|μg|ug|mcg|ng|pg|mL|ml|µL|μL|ul|dL|dl|L|l|mmol|µmol|μmol|umol|nmol|pmol|mol|mM|µM|μM|uM|nM|pM|"
    r"M|mEq|IU|U|units?|%|mmHg|Gy|cGy|mSv|ppm|ppb|mg/kg|mg/m2|mg/m²|mg/dL|mg/L|g/L|g/dL|µg/mL|ng/mL|mmol/L)"
)
# Numbers never masked, most specific first. A decimal is "digits . digits" not followed or preceded by
# another ". digits" (so 03.04.2025 stays a date); a dose is a run of numbers joined by - / to and, ending
# in a unit; thousands are 1-3 digits then groups of exactly 3 (a phone number's last group has 4).
NUMBER_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("decimal", re.compile(r"(?<![\d.])\d*\.\d+(?!\.?\d)")),
    (
        "dose",
        re.compile(
            r"(?<![\w.])\d+(?:\s*(?:[-–/]|to|and|or)\s*\d+)*\s*" + _UNITS + r"(?![A-Za-z\d])",
        ),
    ),
    ("thousands", re.compile(r"(?<![\w.])[1-9]\d{0,2}(?:[ ,]\d{3})+(?![\w.]?\d|[ ,]\d)")),
]
_PRIVATE = (0xF0000, 0xFFFFD)  # Supplementary Private Use Area-A: not word, digit or space characters


def mask_keeping_numbers(text: str, mask: Callable[[str], tuple[str, list[dict]]]) -> tuple[str, list[dict]]:
    """``mask(text)`` (an identifier masker returning ``(masked, findings)``) with every number kept.

    Args:
        text: free text.
        mask: the masker, e.g. ``medcore.text.deid.mask_identifiers``.

    Returns:
        ``(masked_text, findings)`` as ``mask`` returns them; decimals, intervals, p-values, doses and
        counts are as written.
    """
    used = set(text)
    kept: dict[str, str] = {}
    free = (chr(c) for c in range(*_PRIVATE) if chr(c) not in used)

    def hide(match: re.Match) -> str:
        token = next(free)
        kept[token] = match.group()
        return token

    hidden = text
    for _, pattern in NUMBER_PATTERNS:
        hidden = pattern.sub(hide, hidden)
    masked, findings = mask(hidden)
    if kept:  # a token the masker swallowed (inside a URL) is simply gone
        masked = re.sub("|".join(map(re.escape, kept)), lambda m: kept[m.group()], masked)
    return masked, findings


def _mask_patterns(text: str) -> tuple[str, list[dict]]:
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
