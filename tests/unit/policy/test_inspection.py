"""What each detector catches and misses in one typed string (``policy.inspection``): the
table of docs/clauses.md and of the issue's note."""

from __future__ import annotations

import time

import pytest

from policy.inspection import NO_SUBJECT, Subject, TextInspector

EVERY = TextInspector(("email", "phone", "card", "my_number", "subject_value"))
LATIN = Subject.of(
    {"name": "Sato Haruka", "email": "c000001@example.jp", "phone": "090-0000-0042",
     "address": "1-2-3 Sakae", "postal_code": "460-0008"},
    ("name", "email", "phone", "address", "postal_code"),
)  # fmt: skip
KANJI = Subject.of({"name": "佐藤 春香"}, ("name",))

CASES = [
    # e-mail, ASCII
    ("mail taro@example.jp please", NO_SUBJECT, "mail [redacted:email] please", ("email",)),
    # e-mail, full-width letters and ＠ (NFKC)
    ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", NO_SUBJECT, "[redacted:email]", ("email",)),
    # e-mail with spaces around @
    ("taro @ example.jp", NO_SUBJECT, "[redacted:email]", ("email",)),
    # e-mail spelled out: missed (no pattern reads words as symbols)
    ("taro at example dot jp", NO_SUBJECT, "taro at example dot jp", ()),
    # someone else's e-mail: an e-mail is an e-mail, whoever's
    ("my friend hanako@example.com", LATIN, "my friend [redacted:email]", ("email",)),
    # JP mobile with hyphens
    ("090-1234-5678", NO_SUBJECT, "[redacted:phone]", ("phone",)),
    # JP mobile in full-width digits and hyphens
    ("０９０－１２３４－５６７８", NO_SUBJECT, "[redacted:phone]", ("phone",)),
    # JP mobile written with the katakana long mark as hyphen
    ("090ー1234ー5678", NO_SUBJECT, "[redacted:phone]", ("phone",)),
    # JP number in international form
    ("+81 90 1234 5678", NO_SUBJECT, "[redacted:phone]", ("phone",)),
    # Tokyo landline in brackets
    ("(03) 1234-5678", NO_SUBJECT, "([redacted:phone]", ("phone",)),
    # US number, international form
    ("call +1 650 253 0000", NO_SUBJECT, "call [redacted:phone]", ("phone",)),
    # UK number, international form
    ("+44 20 7946 0958", NO_SUBJECT, "[redacted:phone]", ("phone",)),
    # a foreign number without its +country: read as Japanese, not valid there: missed
    ("650 253 0000", NO_SUBJECT, "650 253 0000", ()),
    # card number with spaces (Luhn-valid)
    ("card 4111 1111 1111 1111", NO_SUBJECT, "card [redacted:card]", ("card",)),
    # card number in full-width digits with hyphens
    ("４１１１－１１１１－１１１１－１１１１", NO_SUBJECT, "[redacted:card]", ("card",)),
    # a card typed with its expiry in one run of digits: the card part is found
    ("4111 1111 1111 1111 0125", NO_SUBJECT, "[redacted:card]", ("card",)),
    # 16 digits failing Luhn: no card, and no phone either
    ("4111 1111 1111 1112", NO_SUBJECT, "4111 1111 1111 1112", ()),
    # My Number with a valid check digit
    ("1234 5678 9018", NO_SUBJECT, "[redacted:my_number]", ("my_number",)),
    # twelve digits with a wrong check digit: not a My Number
    ("1234 5678 9012", NO_SUBJECT, "1234 5678 9012", ()),
    # the subject's own name, as written in the record: one span
    ("I am Sato Haruka", LATIN, "I am [redacted:subject_value]", ("subject_value",)),
    # a part of the subject's name, any case, as a word
    ("ask HARUKA", LATIN, "ask [redacted:subject_value]", ("subject_value",)),
    # the name part inside another word: not the name
    ("satoyama walk", LATIN, "satoyama walk", ()),
    # the subject's name in katakana while the record holds it in latin: missed (no
    # transliteration)
    ("サトウ ハルカ です", LATIN, "サトウ ハルカ です", ()),
    # the subject's kanji name inside Japanese text (no word boundaries there)
    ("佐藤です", KANJI, "[redacted:subject_value]です", ("subject_value",)),
    # the subject's own phone (not a valid number, so the phone detector misses it)
    ("tel 090 0000 0042", LATIN, "tel [redacted:subject_value]", ("subject_value",)),
    # the subject's postal code in full width
    ("〒４６０－０００８", LATIN, "〒[redacted:subject_value]", ("subject_value",)),
    # the subject's address, spaces and hyphens ignored
    ("live at 123 sakae", LATIN, "live at [redacted:subject_value]", ("subject_value",)),
    # the subject's e-mail (also an e-mail)
    ("C000001@EXAMPLE.JP", LATIN, "[redacted:email]", ("email",)),
    # someone else's name: no NLP model, a documented limit
    ("my sister Tanaka Yui", LATIN, "my sister Tanaka Yui", ()),
    # an ordinary answer
    ("b", LATIN, "b", ()),
    # numbers that are no personal data: a year, a price
    ("since 2019, about 3300 yen", LATIN, "since 2019, about 3300 yen", ()),
]


@pytest.mark.parametrize(("text", "subject", "out", "found"), CASES)
def test_when_a_text_is_inspected_then_each_find_is_redacted_in_place(
    text: str, subject: Subject, out: str, found: tuple[str, ...]
) -> None:
    assert EVERY.inspect(text, subject) == (out, found)


@pytest.mark.parametrize(
    ("detectors", "text", "found"),
    [
        # the contact kind's set: a phone is no find (a phone field holds one)
        (("email", "card"), "090-1234-5678", ()),
        # ... an e-mail is
        (("email", "card"), "x@example.jp", ("email",)),
        # no subject_value detector: the subject's name stays
        (("email",), "Sato Haruka", ()),
    ],
)
def test_when_a_kind_has_fewer_detectors_then_only_those_find(
    detectors: tuple[str, ...], text: str, found: tuple[str, ...]
) -> None:
    assert TextInspector(detectors).inspect(text, LATIN)[1] == found


@pytest.mark.parametrize(
    "text",
    [
        "a" * 65_536,  # a long run of e-mail characters without an @ (no quadratic search)
        "a@" * 30_000,  # many @ without a domain
        "1 " * 30_000,  # one digit run far longer than any number
    ],
)
def test_when_a_hostile_value_is_inspected_then_it_takes_linear_time(text: str) -> None:
    started = time.process_time()
    EVERY.inspect(text, LATIN)
    assert time.process_time() - started < 2.0


def test_when_nothing_is_found_then_the_same_string_object_comes_back() -> None:
    text = "an ordinary answer"
    assert EVERY.inspect(text, LATIN)[0] is text
