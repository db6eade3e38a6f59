"""Languages of the texts people read: gettext catalogs through Babel.

English is the source language (the msgids); Spanish is read from
``locoreg/locale/es/LC_MESSAGES/messages.po``. The ``.po`` file is the only
committed form: it is compiled in memory on first use (Babel's ``read_po`` and
``write_mo``), so a fresh clone, an installed wheel and the test suite all read
the same catalog and no compiled ``.mo`` can go stale. Fuzzy entries are not
used. Codes and JSON keys never pass through here; they stay English.

Code that builds sentences (the decision engine) marks them with :func:`gettext`
(``_``) and :func:`ngettext`, which read the language of the current context:
``with language("es"): ...`` sets it for one call and restores it after, so
concurrent requests in different languages never see each other's. Tables that
are defined at import time mark their sentences with :func:`N_` (extracted, not
translated there) and translate them with :func:`gettext` where they are used;
the English msgid therefore stays the identity of a rule (``rules_version``).

Numbers and dates are formatted by locale with Babel (``format_decimal``,
``format_date``): "16.3" in English, "16,3" in Spanish.
"""

from __future__ import annotations

import gettext as _gettext
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, get_decimal_symbol
from babel.support import Translations

from locoreg.errors import FieldError, InputError

LOCALE_DIR = Path(__file__).parent / "locale"
#: The message domain (one catalog per language).
DOMAIN = "messages"
#: Languages offered, source language first.
LANGUAGES: tuple[str, ...] = ("en", "es")
DEFAULT_LANGUAGE = "en"


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def check_language(lang: str, field: str = "lang") -> str:
    """``lang`` if offered, else an InputError naming the field and the choices."""
    if lang not in LANGUAGES:
        raise InputError(
            [FieldError(field, f"unsupported language {lang!r}; allowed: {', '.join(LANGUAGES)}")]
        )
    return lang


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The catalog of ``lang`` (English: the identity)."""
    check_language(lang)
    if lang == DEFAULT_LANGUAGE:
        return _gettext.NullTranslations()
    with catalog_path(lang).open("rb") as po:
        catalog = read_po(po, locale=lang, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def negotiate(requested: str | None, accept_language: str | None) -> str:
    """The language of a web answer: ``?lang=`` if offered, else the best
    ``Accept-Language`` match (quality order, RFC 9110 §12.5.4), else English."""
    if requested in LANGUAGES:
        return requested
    preferred: list[tuple[float, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            preferred.append((-quality + i * 1e-6, tag.strip()))
    for _, tag in sorted(preferred):
        try:
            language = Locale.parse(tag, sep="-").language
        except (ValueError, UnknownLocaleError):
            continue
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


# Memoised: Babel parses the pattern and the locale on every call (~40 µs), and an
# assessment formats ~50 numbers, most of them the same evidence figures every time.
@lru_cache(maxsize=4096)
def number(value: float, lang: str, digits: int = 0, *, exact: bool = False) -> str:
    """``value`` rounded to at most ``digits`` decimals in the locale's notation
    (``exact``: always ``digits`` decimals, "0.90" / "0,90")."""
    decimals = ("0" if exact else "#") * digits
    pattern = f"#,##0.{decimals}" if digits else "#,##0"
    return format_decimal(round(value, digits), format=pattern, locale=lang)


def decimal_mark(text: str, lang: str) -> str:
    """A number already formatted with a point (``f"{p:.3g}"``, "1.2e-05") written with
    the locale's decimal mark ("0,034" in Spanish); English text is returned unchanged.

    For statistics whose format is part of their meaning (significant digits of a
    p-value, fixed decimals of τ²), where :func:`number` would round differently."""
    if lang == DEFAULT_LANGUAGE:
        return text
    return text.replace(".", get_decimal_symbol(lang))


def day(value: date | datetime, lang: str) -> str:
    """A date in the locale's long form ("6 December 2026", "6 de diciembre de 2026")."""
    return format_date(value, format="long", locale="en_GB" if lang == "en" else lang)


#: The language of the sentences being built in this context (thread, task).
_current: ContextVar[str] = ContextVar("locoreg_language", default=DEFAULT_LANGUAGE)


@contextmanager
def language(lang: str) -> Iterator[str]:
    """Build sentences in ``lang`` inside the block (validated; restored after)."""
    token = _current.set(check_language(lang))
    try:
        yield lang
    finally:
        _current.reset(token)


def current_language() -> str:
    """The language set by the innermost :func:`language` block (English outside any)."""
    return _current.get()


def gettext(message: str) -> str:
    """``message`` in the current language (the English msgid when untranslated)."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the current language."""
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for extraction only; translate it with :func:`gettext` where used."""
    return message


def num(value: float, digits: int = 0, *, exact: bool = False) -> str:
    """:func:`number` in the current language."""
    return number(value, _current.get(), digits, exact=exact)


def and_list(items: list[str]) -> str:
    """``items`` joined as a list in the current language ("a, b and c", "a, b y c").

    Spanish writes "e" for "y" before a word starting with the sound /i/ ("i-", "hi-",
    not "hie-"): "ulceración e infección".
    """
    lang = _current.get()
    text = format_list(items, style="standard", locale="en_GB" if lang == "en" else lang)
    last = items[-1] if items else ""
    if lang == "es" and len(items) > 1 and re.match(r"(?i)h?i(?!e)", last):
        head = text[: -len(last)]
        if head.endswith(" y "):
            text = f"{head[:-3]} e {last}"
    return text
