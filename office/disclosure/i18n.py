"""The languages of the disclosure report: message catalogues, dates for people, words for
codes. English is the source language (the msgids); ``locale/<lang>.po`` holds a translation,
parsed with Babel when first asked for and compiled in memory (no ``.mo`` file to go stale).

Dates are Japan Standard Time (UTC+9, no daylight saving: a fixed offset, no time zone database
needed), written as people write them: ``2023年1月1日 20:24 (JST)``, ``1 January 2023, 20:24 JST``.

>>> from datetime import UTC, datetime
>>> at = datetime(2023, 1, 1, 11, 24, 55, tzinfo=UTC)
>>> when(at, "ja"), when(at, "en")
('2023年1月1日 20:24 (JST)', '1 January 2023, 20:24 JST')
"""

from __future__ import annotations

import gettext
import io
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Final

import pycountry
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"
LANGUAGES: Final = ("en", "ja")
JST: Final = timezone(timedelta(hours=9), "JST")

_TIME: Final = {"en": "d MMMM y, HH:mm 'JST'", "ja": "y年M月d日 H:mm '(JST)'"}
_DATE: Final = {"en": "d MMMM y", "ja": "y年M月d日"}


@cache
def catalogue(lang: str) -> gettext.NullTranslations:
    """The translations of ``lang`` (English: the msgids as they are)."""
    if lang == "en":
        return gettext.NullTranslations()
    with (LOCALE_DIR / f"{lang}.po").open("rb") as source:
        parsed = read_po(source, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, parsed)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def when(time: datetime, lang: str) -> str:
    """A moment in JST, for people."""
    return format_datetime(time, _TIME[lang], tzinfo=JST, locale=lang)


def day(time: datetime, lang: str) -> str:
    """A day in JST, for people."""
    return format_datetime(time, _DATE[lang], tzinfo=JST, locale=lang)


def country(code: str, lang: str) -> str:
    """A country by its ISO code, in words (the code itself when unknown)."""
    found = pycountry.countries.get(alpha_2=code)
    name = getattr(found, "common_name", None) or getattr(found, "name", None) if found else None
    return catalogue(lang).gettext(name) if name else code
