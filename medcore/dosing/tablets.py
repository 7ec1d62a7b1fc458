"""A week of warfarin tablets made only from the strengths the pharmacy stocks (issue 28 item 5).

``week_of_tablets(weekly, strengths)`` picks, among weeks of whole tablets of the chosen
strengths (at most ``MAX_TABLETS_PER_DAY`` a day, two daily doses at most), the one whose total is
nearest the weekly dose; among equally near weeks the most even days, then the fewest tablets.
When no such week makes the dose exactly it says so, with the nearest total and the difference.
Tablets are never split: a half tablet is not a strength the clinician chose.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections import Counter
from collections.abc import Iterable

from medcore.core.errors import InvalidInputError

__all__ = [
    "STRENGTH_CHOICES",
    "DEFAULT_STRENGTHS",
    "MAX_TABLETS_PER_DAY",
    "check_strengths",
    "daily_tablets",
    "week_of_tablets",
]

# Warfarin strengths on the market: 0.5, 1, 3 and 5 mg in the UK (BNF); 1, 2, 2.5, 3, 4, 5, 6, 7.5
# and 10 mg in the US.
STRENGTH_CHOICES = (0.5, 1.0, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5, 10.0)
# Default 1, 3 and 5 mg: the strengths UK pharmacies stock (the project follows UK guidance), few
# enough colours to keep apart at home, and they make every whole-mg daily dose from 1 to 16 mg
# with at most four tablets. The clinician changes them to what is really on the shelf.
DEFAULT_STRENGTHS = (1.0, 3.0, 5.0)
MAX_TABLETS_PER_DAY = 4
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def check_strengths(strengths: Iterable) -> tuple[float, ...]:
    """The chosen strengths (mg) as sorted distinct numbers.

    Raises:
        InvalidInputError: none chosen, or one that is not a positive number of mg.
    """
    if strengths is None or isinstance(strengths, (str, bytes)):
        strengths = [strengths] if strengths else []
    out = set()
    for value in strengths:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not (math.isfinite(number) and 0 < number <= 20):
            raise InvalidInputError(
                f"Tablet strength {value!r} is not a number of mg from above 0 to 20. Give the strengths stocked, "
                "for example 1, 3 and 5 (mg)."
            )
        out.add(round(number, 6))
    if not out:
        raise InvalidInputError(
            "No tablet strength chosen, so there is no week of tablets. Choose the strengths the pharmacy stocks "
            "(for example 1, 3 and 5 mg)."
        )
    return tuple(sorted(out))


@functools.lru_cache(maxsize=64)
def _amounts(strengths: tuple[float, ...]) -> dict[float, tuple[float, ...]]:
    """Each daily dose whole tablets can make -> its fewest tablets (then fewest strengths, larger first)."""
    best: dict[float, tuple[float, ...]] = {}
    for count in range(1, MAX_TABLETS_PER_DAY + 1):
        for combo in itertools.combinations_with_replacement(sorted(strengths, reverse=True), count):
            mg = round(sum(combo), 6)
            known = best.get(mg)
            if known is None or (len(known) == count and len(set(combo)) < len(set(known))):
                best[mg] = combo
    return best


@functools.lru_cache(maxsize=64)
def _weeks(strengths: tuple[float, ...]) -> dict[float, tuple]:
    """Each weekly total a two-level week makes -> its best (high, low, days at high), the most even first."""
    amounts = _amounts(strengths)
    levels = sorted(amounts)
    best: dict[float, tuple] = {}
    for i, low in enumerate(levels):
        for high in levels[i:]:
            for k in range(1, 8) if high > low else (0,):
                used = [amounts[high]] * k + [amounts[low]] * (7 - k)
                rank = (high - low, max(map(len, used)), sum(map(len, used)))
                total = round(k * high + (7 - k) * low, 6)
                if total not in best or rank < best[total][0]:
                    best[total] = (rank, high, low, k)
    return best


@functools.lru_cache(maxsize=64)
def _totals(strengths: tuple[float, ...]) -> list[float]:
    return sorted(_weeks(strengths))


def daily_tablets(mg: float, strengths: Iterable[float]) -> list[float]:
    """The fewest whole tablets of ``strengths`` making ``mg`` (at most ``MAX_TABLETS_PER_DAY``), or []."""
    return list(_amounts(check_strengths(strengths)).get(round(float(mg), 6), ()))


def _tablets_text(combo: tuple[float, ...]) -> str:
    return " + ".join(f"{n} × {mg:g} mg" for mg, n in sorted(Counter(combo).items(), reverse=True))


def _names(strengths: tuple[float, ...]) -> str:
    words = [f"{s:g}" for s in strengths]
    return (", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]) + " mg"


def week_of_tablets(weekly: float, strengths: Iterable[float]) -> dict:
    """A week of whole tablets of ``strengths`` only, nearest ``weekly`` mg, days as even as possible.

    Returns:
        ``{"days": 7 daily doses Monday first, "total", "text", "by_day", "doses": [{"mg",
        "tablets", "days"}], "strengths", "difference": total - weekly, "note"}``; ``note`` is None
        when the week makes the dose (to 0.1 mg/week), else it gives the nearest total and the gap.

    Raises:
        InvalidInputError: no strength chosen, a strength or the weekly dose not a positive number.
    """
    chosen = check_strengths(strengths)
    try:
        dose = float(weekly)
    except (TypeError, ValueError):
        dose = math.nan
    if not (math.isfinite(dose) and dose > 0):
        raise InvalidInputError(f"The weekly dose must be a positive number of mg; got {weekly!r}.")
    weekly = dose
    weeks, totals = _weeks(chosen), _totals(chosen)
    i = bisect.bisect_left(totals, weekly)  # the nearest total is just below or at/above the dose
    total = min(totals[max(i - 1, 0) : i + 1], key=lambda t: (round(abs(t - weekly), 6), weeks[t][0], t))
    _, high, low, k = weeks[total]
    amounts = _amounts(chosen)
    high_days = {math.floor(j * 7 / k) for j in range(k)}  # spread the higher days over the week
    days = [float(high if d in high_days else low) for d in range(7)]
    doses = [{"mg": float(mg), "tablets": list(amounts[mg]), "days": n} for mg, n in ((high, k), (low, 7 - k)) if n]
    text = (
        " and ".join(
            f"{d['mg']:g} mg ({_tablets_text(amounts[d['mg']])}) on {d['days']} day{'s' if d['days'] > 1 else ''}"
            for d in doses
        )
        + f" ({total:g} mg/week)"
    )
    difference = total - weekly
    note = None
    if abs(difference) >= 0.05:
        share = abs(difference) / weekly * 100
        note = (
            f"{weekly:.1f} mg/week cannot be made exactly from {_names(chosen)} tablets (whole tablets, at most "
            f"{MAX_TABLETS_PER_DAY} a day): the nearest week totals {total:g} mg, {abs(difference):.1f} mg/week "
            f"({'<1' if share < 0.5 else f'{share:.0f}'} %) {'more' if difference > 0 else 'less'} than the dose."
        )
        if difference > 0 and high == min(amounts):  # every day already at the smallest dose
            note += " A smaller strength would give a closer week."
        elif difference < 0 and low == max(amounts):  # every day already at the most tablets
            note += " A larger strength would give a closer week."
    return {
        "days": days,
        "total": float(total),
        "text": text,
        "by_day": ", ".join(f"{day} {mg:g} mg" for day, mg in zip(_DAYS, days)),
        "doses": doses,
        "strengths": list(chosen),
        "difference": float(difference),
        "note": note,
    }
