"""The batch CSV template: every column the dosing model reads, with units, one example patient and a key.

The headers are the IWPC names ``data.read_frame`` already accepts (units in the header where the
data set has them: ``Height (cm)``, ``Weight (kg)``), so the template is read back as it is.
"""

from __future__ import annotations

import pandas as pd

from medcore.dosing import data as iwpc

__all__ = ["TEMPLATE_COLUMNS", "EXAMPLE", "template_key", "batch_template"]

_ZERO_ONE = "1 = yes, 0 = no"
_EMPTY_NO = "counted as 0 (no)"
_INDICATION_CODES = (
    "1 deep-vein thrombosis, 2 pulmonary embolism, 3 atrial fibrillation/flutter, 4 heart valve, "
    "5 cardiomyopathy, 6 stroke, 7 after orthopaedic surgery, 8 other"
)
_CONDITIONS = ("smokes now", "has diabetes", "has heart failure or a cardiomyopathy", "has a replaced heart valve")
# column -> (what it is, allowed values and units, what an empty cell means)
_KEY = {
    iwpc.AGE: ("age band (years)", "one of " + ", ".join(iwpc.AGE_BINS), "unknown: the training median age is used"),
    iwpc.HEIGHT: (
        "height in centimetres",
        "a number from 100 to 230 (cm)",
        "unknown: the training median height is used (noted per row)",
    ),
    iwpc.WEIGHT: (
        "weight in kilograms",
        "a number from 20 to 300 (kg); 0 is refused",
        "unknown: the training median weight is used (noted per row)",
    ),
    iwpc.GENDER: ("sex", "male or female", "counted as male"),
    iwpc.RACE: ("race (US OMB categories)", ", ".join(iwpc.RACES), "counted as Unknown"),
    iwpc.TARGET_INR: ("the INR aimed for", "a number from 1 to 5", "the training median target is used"),
    iwpc.CYP2C9: (
        "CYP2C9 genotype",
        ", ".join(iwpc.CYP2C9_TYPES) + " (the model counts the rare *5, *6, *11, *13 and *14 as not tested)",
        "not tested (leave the cell empty or write 'not tested')",
    ),
    iwpc.VKORC1: (
        "VKORC1 -1639 G>A genotype (rs9923231)",
        ", ".join(iwpc.VKORC1_TYPES),
        "not tested, unless a VKORC1 2255/1173/1542 column gives it (IWPC imputation)",
    ),
    **{
        column: (f"VKORC1 {column.split()[1]} genotype, used only when -1639 is empty", ", ".join(allowed), "not used")
        for column, allowed in iwpc._OTHER_SNPS.items()
    },
    iwpc.AMIODARONE: ("takes amiodarone", _ZERO_ONE, _EMPTY_NO),
    **{
        column: (f"takes {column.split(' (')[0].split(' or ')[-1].lower()}", _ZERO_ONE, _EMPTY_NO)
        for column in iwpc.INDUCERS
    },
    iwpc.INDICATION: (
        "why warfarin is given",
        f"one or more codes separated by '; ' (e.g. 3; 8): {_INDICATION_CODES}",
        "none recorded",
    ),
    **{column: (f"takes {column.split(' (')[0].lower()}", _ZERO_ONE, _EMPTY_NO) for column in iwpc.BINARY[4:10]},
    **{column: (what, _ZERO_ONE, _EMPTY_NO) for column, what in zip(iwpc.BINARY[10:], _CONDITIONS)},
}
TEMPLATE_COLUMNS = tuple(_KEY)
# One example patient; the other VKORC1 columns stay empty because -1639 is given.
EXAMPLE = {
    iwpc.AGE: "60 - 69",
    iwpc.HEIGHT: 170,
    iwpc.WEIGHT: 75,
    iwpc.GENDER: "female",
    iwpc.RACE: "White",
    iwpc.TARGET_INR: 2.5,
    iwpc.CYP2C9: "*1/*1",
    iwpc.VKORC1: "A/G",
    iwpc.AMIODARONE: 0,
    **{column: 0 for column in iwpc.INDUCERS},
    iwpc.INDICATION: "3",
    **{column: 0 for column in iwpc.BINARY[4:]},
}


def template_key() -> pd.DataFrame:
    """One row per template column: what it is, the allowed values with units, what an empty cell means."""
    return pd.DataFrame(
        [
            {"column": column, "what it is": what, "allowed values (units)": allowed, "if empty": empty}
            for column, (what, allowed, empty) in _KEY.items()
        ]
    )


def batch_template() -> bytes:
    """The batch CSV template (UTF-8): the header of ``TEMPLATE_COLUMNS`` and the ``EXAMPLE`` patient."""
    return pd.DataFrame([EXAMPLE], columns=list(TEMPLATE_COLUMNS)).to_csv(index=False).encode("utf-8")
