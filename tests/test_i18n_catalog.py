"""No string left untranslated: Babel extraction over the marked sources (babel.cfg)
against the Spanish catalog; and the language negotiation of the web."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from locoreg import i18n
from locoreg.errors import InputError

ROOT = Path(__file__).parents[1]


def _extracted() -> set[str]:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = extract_from_dir(
        str(ROOT / "src" / "locoreg"), method_map=method_map, options_map=options_map
    )
    ids = {message if isinstance(message, str) else message[0] for _, _, message, *_ in found}
    return {m for m in ids if m}


def test_extraction_finds_the_aid_strings() -> None:
    ids = _extracted()
    assert len(ids) > 50
    assert "What matters most to you?" in ids


@pytest.mark.parametrize("lang", [code for code in i18n.LANGUAGES if code != "en"])
def test_every_marked_string_is_translated(lang: str) -> None:
    with i18n.catalog_path(lang).open("rb") as po:
        catalog = read_po(po, locale=lang)
    problems = []
    for msgid in sorted(_extracted()):
        message = catalog.get(msgid)
        if message is None:
            problems.append(f"missing: {msgid!r}")
        elif not message.string:
            problems.append(f"empty: {msgid!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
    assert not problems, "\n".join(problems)
    # And none is left over from a removed string.
    obsolete = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog if m.id}
    obsolete -= _extracted()  # a plural entry's id is its (singular, plural) pair
    assert not obsolete, obsolete


def test_negotiation_query_then_accept_language_then_english() -> None:
    assert i18n.negotiate("es", "en") == "es"
    assert i18n.negotiate(None, "es-MX,es;q=0.9,en;q=0.5") == "es"
    assert i18n.negotiate(None, "fr-FR, en;q=0.3, es;q=0.8") == "es"
    assert i18n.negotiate("xx", "de") == "en"
    assert i18n.negotiate(None, "es;q=0") == "en"
    assert i18n.negotiate(None, None) == "en"


def test_locale_formatting_and_unknown_language() -> None:
    assert i18n.number(1.5, "es", 1) == "1,5" and i18n.number(1.5, "en", 1) == "1.5"
    assert i18n.number(16.3, "en") == "16"
    assert i18n.day(date(2026, 12, 6), "es") == "6 de diciembre de 2026"
    assert i18n.day(date(2026, 12, 6), "en") == "6 December 2026"
    with pytest.raises(InputError, match="lang: unsupported language 'fr'; allowed: en, es"):
        i18n.check_language("fr")
