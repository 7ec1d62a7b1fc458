"""Identifier masking: obvious identifiers become tags; clinical numbers stay."""

from __future__ import annotations

import pytest

from medcore.core.deid import mask_identifiers


@pytest.mark.parametrize(
    "text, tag",
    [
        ("write to jane.doe@example.org today", "[EMAIL]"),
        ("see https://portal.example.org/p/1 for results", "[URL]"),
        ("call 555-123-4567 after six", "[PHONE]"),
        ("call +44 20 7946 0958", "[PHONE]"),
        ("seen on 12/03/2024 in clinic", "[DATE]"),
        ("born March 3, 2001", "[DATE]"),
        ("admitted 2024-01-15", "[DATE]"),
        ("MRN 00123456 on the wristband", "[RECORD]"),
        ("SSN 123-45-6789", "[SSN]"),
        ("NHS number 943 476 5919", "[NHS]"),
        ("call +1 415 555 2671 tonight", "[PHONE]"),  # not an NHS number inside a US one
        ("her mobile is 07700 900123", "[PHONE]"),
        ("ring 07700900123", "[PHONE]"),
        ("SSN 123456789", "[SSN]"),
        ("first seen March 2023", "[DATE]"),
        ("lives at SW1A 1AA", "[POSTCODE]"),
        ("referred by Dr Jones", "[NAME]"),
        ("Mrs. Alice Smith, 54, has a cough", "[NAME]"),
        ("Name: John Smith", "[NAME]"),
        ("my name is Sarah Connor and I cough", "[NAME]"),
    ],
)
def test_identifiers_are_masked_and_counted(text, tag):
    masked, findings = mask_identifiers(text)
    assert tag in masked
    assert any(finding["tag"] == tag and finding["count"] == 1 for finding in findings)


def test_an_international_number_is_masked_whole():
    assert mask_identifiers("call +1 415 555 2671 tonight")[0] == "call [PHONE] tonight"


def test_values_never_appear_in_the_findings():
    masked, findings = mask_identifiers("jane.doe@example.org 555-123-4567")
    assert "jane" not in str(findings) and "4567" not in str(findings) and "jane" not in masked


@pytest.mark.parametrize(
    "text",
    [
        "fever 39.5 for 3 days",
        "took 500 mg twice a day",
        "BP 120/80, pulse 72",
        "2 tablets",
        "vitamin B12 deficiency, CD4 count 350, HbA1c 7.2",
        "Patient: Has fever since Monday",
        "This is Parkinson's disease",
    ],
)
def test_clinical_numbers_are_left_alone(text):
    assert mask_identifiers(text) == (text, [])
