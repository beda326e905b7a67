"""Personal data found inside one typed string, and the string with each find redacted.

Detectors are small named classes in a registry (``DETECTORS``), as presidio's operators are.
A text is read in ONE pass: NFKC and case folding, then one compiled pattern that finds e-mail
addresses and runs of eight or more digits (spaces, hyphens, dots and brackets between them
allowed), plus a substring check per value of the subject. Nothing is found in almost every
value, and then nothing else runs. Only on a find is the text mapped character by character
(so that spans point into the original) and each digit run classified: a card number (13-19
digits, Luhn), a Japanese Individual Number (12 digits, check digit), a telephone number
(``phonenumbers``' matcher, Japanese and international), or the subject's own phone number or
postal code. The subject's own name (and each part of it), e-mail, phone, address and postal
code are matched ignoring case, width, spaces and hyphens. A short text's result is remembered
per subject (a customer's name, phone and region come back with each of their events).

>>> inspector = TextInspector(("email", "phone"))
>>> inspector.inspect("mail: Ｔａｒｏ＠Example.JP", NO_SUBJECT)
('mail: [redacted:email]', ('email',))
>>> inspector.inspect("call ０９０-１２３４-５６７８ please", NO_SUBJECT)
('call [redacted:phone] please', ('phone',))
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import phonenumbers
from stdnum import luhn
from stdnum.jp import in_ as my_number

#: Characters ignored between the characters of a value (contract §3: spaces and hyphens).
IGNORED: Final = frozenset(" \t\n\r-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70")
_SEPARATORS: Final = r"[ \-\u2010-\u2015\u2212\u30fc().]"
#: One pass: a run of eight or more digits (spaces, hyphens, dots, brackets between them).
DIGITS: Final = re.compile(rf"\+?\d(?:{_SEPARATORS}{{0,3}}\d){{7,}}")
#: An e-mail address is found from its @ outwards (a pattern that starts anywhere in a long
#: run of letters would try every start: quadratic on a hostile 64 KiB value).
LOCAL: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.!#$%&'*+/=?^_`{|}~-")
DOMAIN: Final = re.compile(r" ?[a-z0-9-]+(?:\.[a-z0-9-]+)+")
_DELETE: Final = str.maketrans("", "", "".join(IGNORED))
#: The parts of a name shorter than this are not matched alone (an initial matches too much).
MIN_PART: Final = 2
#: Texts (up to MEMO_TEXT characters) remembered with their result; beyond, forgotten whole.
MEMO_SIZE: Final = 8192
MEMO_TEXT: Final = 256
#: Digits in one run beyond which it is classified as no number (a phone has at most 15).
MAX_RUN: Final = 40
#: A subject value shorter than this (squashed) is not matched inside other text.
MIN_VALUE: Final = 5


def redaction(detector: str) -> str:
    """The text that replaces a find (contract §3)."""
    return f"[redacted:{detector}]"


def squash(text: str) -> str:
    """NFKC, case-folded, without spaces and hyphens: the form values are compared in.

    >>> squash("０９０－１２３４ ５６７８")
    '09012345678'
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch not in IGNORED)


@dataclass(frozen=True, slots=True, eq=False)  # compared by identity: a cheap memo key
class Subject:
    """The subject's own values from the same event, squashed: name parts are matched as words
    (in the folded text), the rest inside the squashed text; digits of phone and postal code."""

    parts: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    digits: frozenset[str] = frozenset()

    @classmethod
    def of(cls, record: Mapping[str, object], fields: tuple[str, ...]) -> Subject:
        """The subject of a record, from its ``fields`` that hold strings (``name`` split too)."""
        parts: set[str] = set()
        values: set[str] = set()
        digits: set[str] = set()
        for field in fields:
            text = record.get(field)
            if not isinstance(text, str) or not text:
                continue
            folded = unicodedata.normalize("NFKC", text).casefold()
            parts.update(p for p in folded.split() if len(p) >= MIN_PART and field == "name")
            value = squash(text)
            if len(value) >= MIN_VALUE:
                values.add(value)
            number = "".join(ch for ch in value if ch.isdigit())
            if len(number) >= MIN_VALUE and len(number) * 2 > len(value):
                digits.add(number)
        return cls(tuple(sorted(parts)), tuple(sorted(values)), frozenset(digits))


NO_SUBJECT: Final = Subject()


class Email:
    name: Final = "email"  # found from each @ outwards (``_emails``)


class Card:
    """13 to 19 digits that pass the Luhn check (payment card numbers)."""

    name: Final = "card"
    min_digits: Final = 13

    def matches(self, digits: str, raw: str) -> bool:
        return 13 <= len(digits) <= 19 and luhn.is_valid(digits)


class MyNumber:
    """A Japanese Individual Number: 12 digits with a valid check digit."""

    name: Final = "my_number"
    min_digits: Final = 12

    def matches(self, digits: str, raw: str) -> bool:
        return len(digits) == 12 and my_number.is_valid(digits)


class Phone:
    """A telephone number ``phonenumbers`` finds in the run (Japanese, or international +)."""

    name: Final = "phone"
    min_digits: Final = 8

    def matches(self, digits: str, raw: str) -> bool:
        return any(True for _ in phonenumbers.PhoneNumberMatcher(raw, "JP"))


class SubjectValue:
    name: Final = "subject_value"  # the subject's own values (``_subject_spans``)


Detector = Email | Card | MyNumber | Phone | SubjectValue
#: Every detector the policy may name, in the order a digit run is classified.
DETECTORS: Final[Mapping[str, Detector]] = {
    d.name: d for d in (Email(), Card(), MyNumber(), Phone(), SubjectValue())
}

Span = tuple[int, int, str]  # start, end (in the text inspected), detector


class TextInspector:
    """One detector set, prepared once: ``inspect(text, subject) -> (text, detectors hit)``."""

    __slots__ = ("_digit_checks", "_email", "_memo", "_min_digits", "_subject")

    def __init__(self, detectors: tuple[str, ...]) -> None:
        self._email = "email" in detectors
        self._subject = "subject_value" in detectors
        self._digit_checks = tuple(d for d in (Card(), MyNumber(), Phone()) if d.name in detectors)
        # a shorter digit run can be nothing these detectors find (a phone field's own number
        # is no card): the cheap test lets it pass
        self._min_digits = min((d.min_digits for d in self._digit_checks), default=MAX_RUN + 1)
        if self._subject:
            self._min_digits = 0
        # a customer's name, phone and region come back with each of their events
        self._memo: dict[tuple[str, Subject], tuple[str, tuple[str, ...]]] = {}

    def inspect(self, text: str, subject: Subject) -> tuple[str, tuple[str, ...]]:
        """The text with every find replaced by ``[redacted:<detector>]``, and the detectors
        of the finds in order (empty: the text unchanged, the same object)."""
        if len(text) > MEMO_TEXT:  # a long text is rare: not worth keeping
            return self._inspect(text, subject)
        key = (text, subject)
        found = self._memo.get(key)
        if found is None:
            found = self._inspect(text, subject)
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = found
        return found

    def _inspect(self, text: str, subject: Subject) -> tuple[str, tuple[str, ...]]:
        folded = text.lower() if text.isascii() else unicodedata.normalize("NFKC", text).casefold()
        if not self._maybe(folded, subject):
            return text, ()
        view, origin = _view(text)
        spans = self._spans(view, subject)
        if not spans:
            return text, ()
        out = text
        for start, end, detector in reversed(_merged(spans)):
            out = out[: origin[start]] + redaction(detector) + out[origin[end - 1] + 1 :]
        return out, tuple(detector for _, _, detector in sorted(_merged(spans)))

    def _maybe(self, folded: str, subject: Subject) -> bool:
        """The cheap test: an @, a digit run, or a subject value inside the text."""
        if self._email and "@" in folded:
            return True
        for run in DIGITS.finditer(folded):
            if sum(ch.isdigit() for ch in run.group()) >= self._min_digits:
                return True
        if not self._subject:
            return False
        if any(part in folded for part in subject.parts):
            return True
        if not subject.values:
            return False
        squashed = folded.translate(_DELETE)
        return any(value in squashed for value in subject.values)

    def _spans(self, view: str, subject: Subject) -> list[Span]:
        spans: list[Span] = _emails(view) if self._email else []
        for match in DIGITS.finditer(view):
            found = self._digit_run(match.group(), subject)
            if found is not None:
                spans.append((match.start(), match.end(), found))
        if self._subject:
            spans += _subject_spans(view, subject)
        return spans

    def _digit_run(self, raw: str, subject: Subject) -> str | None:
        """What a digit run is: the run, or for a card its groups up to a separator (a card
        number typed before its expiry date); a run of over ``MAX_RUN`` digits is no number."""
        groups = [g for g in re.split(r"\D+", raw) if g]
        digits = "".join(groups)
        if len(digits) > MAX_RUN:
            return None
        for check in self._digit_checks:
            if check.matches(digits, raw):
                return check.name
            if check.name == "card":  # typed with its expiry date or code after it
                prefixes = ("".join(groups[:last]) for last in range(1, len(groups)))
                if any(check.matches(prefix, raw) for prefix in prefixes):
                    return check.name
        if self._subject and any(value in digits for value in subject.digits):
            return "subject_value"
        return None


def _view(text: str) -> tuple[str, list[int]]:
    """The text NFKC'd and case-folded character by character, with each view character's
    index in the original (spans found in the view point back into the text)."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = char.lower() if char.isascii() else unicodedata.normalize("NFKC", char).casefold()
        chars.append(folded)
        origin.extend([index] * len(folded))
    return "".join(chars), origin


def _emails(view: str) -> list[Span]:
    """Every e-mail address: local characters back from each @ (a space before it allowed),
    a dotted domain after it; linear in the text."""
    spans: list[Span] = []
    at = view.find("@")
    while at >= 0:
        start = at - 1 if at and view[at - 1] == " " else at
        while start and view[start - 1] in LOCAL:
            start -= 1
        domain = DOMAIN.match(view, at + 1)
        if domain is not None and start < at and view[start] != " ":
            spans.append((start, domain.end(), "email"))
        at = view.find("@", at + 1)
    return spans


def _subject_spans(view: str, subject: Subject) -> list[Span]:
    """The subject's name parts as words of the view; its other values, and its phone and
    postal code digits, anywhere in the view with spaces and hyphens skipped."""
    spans: list[Span] = []
    for part in subject.parts:
        for match in re.finditer(re.escape(part), view):
            before = view[match.start() - 1] if match.start() else " "
            after = view[match.end()] if match.end() < len(view) else " "
            # Latin words have boundaries; Japanese text has none: a name inside it matches
            if not (
                (before.isascii() and before.isalnum()) or (after.isascii() and after.isalnum())
            ):
                spans.append((match.start(), match.end(), "subject_value"))
    kept = [i for i, ch in enumerate(view) if ch not in IGNORED]
    squashed = "".join(view[i] for i in kept)
    for value in (*subject.values, *subject.digits):
        start = squashed.find(value)
        while start >= 0:
            spans.append((kept[start], kept[start + len(value) - 1] + 1, "subject_value"))
            start = squashed.find(value, start + len(value))
    return spans


def _merged(spans: list[Span]) -> list[Span]:
    """Overlapping spans as one (the first detector by position names it), in order."""
    merged: list[Span] = []
    for start, end, detector in sorted(spans):
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), last[2])
        else:
            merged.append((start, end, detector))
    return merged
