"""Reading level of a page's prose, with small pure-Python syllable heuristics.

English: Flesch–Kincaid grade, 0.39·(words/sentences) + 11.8·(syllables/words) − 15.59
(Kincaid et al. 1975). Spanish: Fernández Huerta ease, 206.84 − 0.60·P − 1.02·F with P
syllables and F sentences per 100 words (Fernández Huerta 1959; 60–70 "normal", about
grades 8–9). Syllables are counted as vowel groups: close to a dictionary count for
plain words, which is what the aid uses.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_PROSE_TAGS = {"p", "li", "figcaption"}
_SKIPPED = {"style", "title", "svg", "script", "footer", "nav"}


class _Prose(HTMLParser):
    """Text of paragraphs, list items and captions, without source links or graphics."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[str] = []
        self._stack: list[tuple[str, bool]] = []

    def _skipping(self) -> bool:
        return any(skip for _, skip in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"br", "input", "meta", "circle", "path"}:
            return
        classes = (dict(attrs).get("class") or "").split()
        self._stack.append((tag, tag in _SKIPPED or "src" in classes))
        if tag in _PROSE_TAGS and not self._skipping():
            self.blocks.append("")

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.blocks and not self._skipping() and any(t in _PROSE_TAGS for t, _ in self._stack):
            self.blocks[-1] += data


def prose(html: str) -> str:
    parser = _Prose()
    parser.feed(html)
    blocks = [" ".join(b.split()) for b in parser.blocks if b.strip()]
    # A list item or caption without a full stop still ends a sentence.
    return " ".join(b if b[-1] in ".?!" else b + "." for b in blocks)


def _sentences_words(text: str) -> tuple[int, list[str]]:
    # Decimal numbers ("1.5", "1,5") are one word, not a sentence end.
    sentences = [s for s in re.split(r"(?<!\d)[.?!]+(?!\d)", text) if re.search(r"\w", s)]
    words = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+(?:[.,]\d+)?", text)
    return len(sentences), words


def english_syllables(word: str) -> int:
    if word[0].isdigit():
        return 2  # numbers are read as one or two short words
    w = word.lower()
    groups = len(re.findall(r"[aeiouy]+", w))
    if w.endswith("e") and not w.endswith(("le", "ee")) and groups > 1:
        groups -= 1
    return max(1, groups)


def spanish_syllables(word: str) -> int:
    if word[0].isdigit():
        return 2
    # A strong vowel (a, e, o, accented) between others splits hiatus; diphthongs stay one.
    w = word.lower()
    return max(1, len(re.findall(r"[iuü]*[aeoáéíóú][iuy]?(?![aeoáéíóú])|[iuü]+", w)))


def flesch_kincaid_grade(text: str) -> float:
    sentences, words = _sentences_words(text)
    syllables = sum(english_syllables(w) for w in words)
    return 0.39 * len(words) / sentences + 11.8 * syllables / len(words) - 15.59


def fernandez_huerta(text: str) -> float:
    sentences, words = _sentences_words(text)
    syllables = sum(spanish_syllables(w) for w in words)
    per_100 = 100 / len(words)
    return 206.84 - 0.60 * syllables * per_100 - 1.02 * sentences * per_100
