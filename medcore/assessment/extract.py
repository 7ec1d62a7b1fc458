"""Findings from a patient's or clinician's own words: symptoms, negation, age, sex, duration.

A rule-based reader in the manner of medspaCy's ConText: each finding of the vocabulary has lay
phrases (regular expressions, from ``knowledge/findings.csv``); a match is negated when a
negation cue ("no", "denies", "without"...) stands before it in the same clause with no
terminator ("but", "has", "with"...) in between, or a cue such as "denied" follows it; a match
after "family history of" or "mother had" is about someone else and is dropped. Age ("58M",
"a 3-week-old", "aged 70"), sex and the longest stated duration ("for 3 days", "2h") are read
into a context. Every finding keeps the character span of its first mention, so a page can
highlight it and a clinician can check it. Pure functions over strings: no model, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Mention", "Reading", "FindingReader", "tolerant_pattern", "read_age", "read_sex", "read_duration_days"]


_GAP_WORD = (
    r"(?:(?!(?:no|not|never|isn['’]?t|aren['’]?t|wasn['’]?t|weren['’]?t|don['’]?t|doesn['’]?t|didn['’]?t|"
    r"hasn['’]?t|haven['’]?t|without)\b)\w+(?:['’]\w+)?"
)


def tolerant_pattern(pattern: str) -> str:
    """A pattern that also matches typed shortcuts: the apostrophe optional or curly ("cant", "don’t")."""
    # A gap word may be "there's", but never a negation: "eyes aren't painful" is not eye pain.
    return pattern.replace("'", "['’]?").replace(r"(?:\w+", _GAP_WORD)


_NEGATION_BEFORE = re.compile(
    tolerant_pattern(
        r"\b(?:no|not|denies|denied|deny|denying|without|negative for|never|nor|free of|absence of|hasn't|haven't|"
        r"hadn't|isn't|wasn't|aren't|don't|doesn't|didn't|wouldn't|would not|would never|no sign of|no signs of|no history of|ruled out|none|neither)\b"
    ),
    re.IGNORECASE,
)
_TERMINATORS = re.compile(
    r"\b(?:but|however|although|though|yet|except|apart from|aside from|still|has|have|had|having|with|reports?|"
    r"complains? of|c/o|presents? with|now|then|only|and (?:now|then|also) )\b",
    re.IGNORECASE,
)
# Phrases that hold a negation word but do not deny a finding ("just not right", "won't stop").
_PSEUDO_NEGATION = re.compile(
    tolerant_pattern(
        r"\b(?:not (?:right|himself|herself|myself|themselves|even|sure|only|just|well|improving|settling|getting better|"
        r"stopping|going away|eating|feeding|sleeping|interested in|staying (?:down|in)|keeping (?:\w+ )?down)|no (?:better|longer|improvement|relief)|(?:won't|doesn't|didn't|"
        r"will not|does not|can't get it to) (?:stop|settle|go away|help|work)|not helping|hasn't helped|no matter|(?:don't|can't|doesn't|didn't) remember|(?:isn't|not|hasn't|haven't) (?:touching|shifting|helping|working)|(?:aren't|isn't|wasn't|weren't|are not|is not) (?:really )?(?:there|real))\b"
    ),
    re.IGNORECASE,
)
_NEGATION_AFTER = re.compile(r"^\W{0,3}(?:\w+\W+){0,2}?(?:denied|absent|negative|none|not present|ruled out)\b", re.I)
_OTHER_PERSON = re.compile(
    r"\b(?:family history of|history in the family|runs in the family|(?:mother|father|mum|mom|dad|brother|sister|"
    r"grandmother|grandfather|grandma|grandpa|aunt|uncle|parents?) (?:had|died|passed away))\b",
    re.IGNORECASE,
)
_CONTRACTED_S = re.compile(r"(?<=\w)['’]s\b")
NEGATION_SCOPE_WORDS = 5  # "no fever, cough or rash" denies all three; a cue further back denies nothing
LIST_SCOPE_WORDS = 10  # ... unless the finding ends a list the cue began ("..., headache, dizziness or vomiting")
_LIST_END = re.compile(r",[^,]*\b(?:or|nor)\s*$", re.IGNORECASE)
_AUXILIARY = re.compile(r"^\s*(?:(?:had|have|has|been|got|felt|noticed|seen|experienced|any|a|an)\s+)+", re.IGNORECASE)
_CLAUSE_BREAK = re.compile(r"[.!?;\n]+|\bbut\b|\bhowever\b|\balthough\b", re.IGNORECASE)

_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "few": 3,
    "couple of": 2,
    "several": 4,
    "half an": 0.5,
    "half a": 0.5,
}
_NUM = r"(\d+(?:\.\d+)?|" + "|".join(sorted((re.escape(k) for k in _NUMBER_WORDS), key=len, reverse=True)) + r")"
_UNIT_DAYS = {"min": 1 / 1440, "h": 1 / 24, "d": 1.0, "w": 7.0, "m": 30.0, "y": 365.0}
_AGE_UNITS = {"y": 1.0, "m": 1 / 12, "w": 1 / 52, "d": 1 / 365}


def _number(word: str) -> float:
    word = word.lower()
    return float(_NUMBER_WORDS[word]) if word in _NUMBER_WORDS else float(word)


def _unit(word: str) -> str:
    word = word.lower()
    if word.startswith("mi"):
        return "min"
    if word.startswith("mo"):
        return "m"
    return word[0]


_AGE_PATTERNS = (
    re.compile(r"\b" + _NUM + r"\s*-?\s*(years?|yrs?|months?|mos?|weeks?|wks?|days?)\s*-?\s*old\b", re.I),
    re.compile(r"\b(?:aged?|age:?)\s*(\d{1,3}(?:\.\d+)?)\s*(years?|months?|weeks?|days?)?", re.I),
    re.compile(r"\b(\d{1,3})\s*(?:yo|y/o|y\.o\.|yrs? old)\b", re.I),
    re.compile(r"\b(\d{1,3})\s*-?\s*([MF])\b"),
    re.compile(r"\b(?:I'm|I am|im)\s+(\d{1,3})\b(?!\s*(?:weeks?|days?|months?|%|kg|lbs?|cm|minutes?|hours?))", re.I),
)
_SEX_PATTERNS = (
    (re.compile(r"\b\d{1,3}\s*-?\s*([MF])\b"), None),
    (re.compile(r"\b(man|male|gentleman|boy|husband|son|father|dad|grandfather|he|him|his|brother)\b", re.I), "male"),
    (
        re.compile(
            r"\b(woman|female|lady|girl|wife|daughter|mother|mum|mom|grandmother|she|her|pregnant|sister)\b", re.I
        ),
        "female",
    ),
)
_DURATION_PATTERNS = (
    re.compile(
        r"\b(?:for|over|past|last|since)\s+(?:the\s+)?(?:past\s+|last\s+)?"
        + _NUM
        + r"\s*(minutes?|mins?|hours?|hrs?|days?|weeks?|wks?|months?|years?)\b",
        re.I,
    ),
    re.compile(
        r"\b" + _NUM + r"\s*(minutes?|mins?|hours?|hrs?|days?|weeks?|wks?|months?|years?)\s+(?:ago|now)\b", re.I
    ),
    re.compile(r"\b(\d+)\s*(h|hrs?|d|wks?|mins?)\b(?!\s*-?\s*old)", re.I),
)
_CLINICAL_DURATION = re.compile(r"\b(\d+)/(7|52|12)\b")  # 2/7 = two days, 8/52 = eight weeks, 3/12 = three months
_CLINICAL_UNIT_DAYS = {"7": 1.0, "52": 7.0, "12": 30.0}
_SOME = r"(?:for|over|in) (?:the )?(?:last |past )?(?:several|many|some|a few|a couple of)? ?"  # "over a few weeks"
_RELATIVE_DAYS = tuple(
    (re.compile(pattern, re.I), days)
    for pattern, days in (
        (rf"\b{_SOME}weeks\b", 14.0),
        (rf"\b{_SOME}months\b", 60.0),
        (rf"\b{_SOME}years\b|\bon and off\b|\bfor ages\b", 365.0),
        (r"\b(?:this morning|today|tonight|an hour ago|last hour)\b", 0.3),
        (r"\b(?:yesterday|last night|overnight)\b", 1.0),
    )
)


def read_age(text: str) -> tuple[float | None, tuple[int, int] | None]:
    """The patient's age in years stated in the text (first mention), and its span.

    "58M" -> 58; "a 3-week-old" -> 0.058; "aged 70" -> 70; None when no age is stated.
    """
    best = None
    for pattern in _AGE_PATTERNS:
        for match in pattern.finditer(text):
            value = _number(match.group(1))
            unit = match.group(2) if match.lastindex and match.lastindex >= 2 else None
            if unit and unit.upper() in ("M", "F") and len(unit) == 1 and pattern is _AGE_PATTERNS[3]:
                unit = None
            years = value * _AGE_UNITS[_unit(unit)] if unit else value
            if best is None or match.start() < best[1][0]:
                best = (years, match.span())
            break
    return (None, None) if best is None else (round(best[0], 3), best[1])


def read_sex(text: str) -> str | None:
    """'female', 'male' or None: the first word in the text that tells the patient's sex."""
    first = None
    for pattern, sex in _SEX_PATTERNS:
        match = pattern.search(text)
        if match and (first is None or match.start() < first[0]):
            value = sex or ("male" if match.group(1) == "M" else "female")
            first = (match.start() - (1000 if sex is None else 0), value)  # "58M" beats any pronoun
    return None if first is None else first[1]


def read_duration_days(text: str) -> float | None:
    """The longest duration stated ("for 3 days", "2 weeks ago", "2h", "since yesterday"), in days."""
    days = []
    for pattern in _DURATION_PATTERNS:
        for match in pattern.finditer(text):
            days.append(_number(match.group(1)) * _UNIT_DAYS[_unit(match.group(2))])
    days += [int(m.group(1)) * _CLINICAL_UNIT_DAYS[m.group(2)] for m in _CLINICAL_DURATION.finditer(text)]
    for pattern, value in _RELATIVE_DAYS:
        if pattern.search(text):
            days.append(value)
    return max(days) if days else None


@dataclass(frozen=True)
class Mention:
    """One finding named in the text: its id, whether it is present, and where it stands."""

    name: str
    present: bool
    start: int
    end: int


@dataclass
class Reading:
    """What the reader found in one text."""

    mentions: list[Mention] = field(default_factory=list)
    age: float | None = None
    sex: str | None = None
    duration_days: float | None = None

    def findings(self) -> list[Mention]:
        """One mention per finding: the first present mention, else the first negated one."""
        chosen: dict[str, Mention] = {}
        for mention in sorted(self.mentions, key=lambda m: m.start):
            current = chosen.get(mention.name)
            if current is None or (mention.present and not current.present):
                chosen[mention.name] = mention
        return sorted(chosen.values(), key=lambda m: (m.start, m.name))


class FindingReader:
    """Reads findings from text with the vocabulary's lay phrases.

    Args:
        vocabulary: finding dicts with ``id`` and ``patterns`` (regular expressions).
    """

    def __init__(self, vocabulary: list[dict]):
        self._patterns = [
            (
                finding["id"],
                re.compile(tolerant_pattern(r"(?<!\w)(?:" + "|".join(finding["patterns"]) + r")(?!\w)"), re.I),
            )
            for finding in vocabulary
        ]

    def read(self, text: str) -> Reading:
        """Every finding mention in ``text`` with its negation, plus age, sex and duration."""
        clauses = self._clauses(text)
        # "my back's been sore": the patterns see "back s been sore" too (same length, same spans).
        readings = dict.fromkeys([text, _CONTRACTED_S.sub(" s", text)])
        found = list(
            dict.fromkeys(
                (name, match.span())
                for name, pattern in self._patterns
                for variant in readings
                for match in pattern.finditer(variant)
                if match.end() > match.start()
            )
        )
        # A finding whose own words begin with the negation ("no wet nappy": little urine) has used
        # that word up: it does not also deny what follows ("no wet nappy since yesterday, very sleepy").
        cues_used = list(text)
        for _, (start, end) in found:
            if _NEGATION_BEFORE.match(text, start, end):
                cues_used[start:end] = " " * (end - start)
        scope = "".join(cues_used)
        mentions = []
        for name, (start, end) in found:
            clause_start = max((s for s in clauses if s <= start), default=0)
            before = scope[clause_start:start]
            if _OTHER_PERSON.search(before):
                continue
            mentions.append(Mention(name, not self._negated(before, text[end : end + 40]), start, end))
        age, _ = read_age(text)
        return Reading(mentions, age, read_sex(text), read_duration_days(text))

    @staticmethod
    def _clauses(text: str) -> list[int]:
        return [0] + [match.end() for match in _CLAUSE_BREAK.finditer(text)]

    @staticmethod
    def _negated(before: str, after: str) -> bool:
        cues = list(_NEGATION_BEFORE.finditer(_PSEUDO_NEGATION.sub(lambda m: " " * len(m.group()), before)))
        if cues:
            # "haven't had a fever": the verb right after the cue belongs to it, not a new clause.
            between = _AUXILIARY.sub("", before[cues[-1].end() :])
            words = len(between.split())
            if not _TERMINATORS.search(between) and (
                words <= NEGATION_SCOPE_WORDS
                # the last item of a denied list: "no ear discharge, swelling behind the ear or drowsiness"
                or (words <= LIST_SCOPE_WORDS and _LIST_END.search(between))
            ):
                return True
        return bool(_NEGATION_AFTER.search(after))
