"""Translated figure text: the Korean edition draws the same figures with Korean titles.

The notebooks' code is shared by every language. Their figure titles, axis labels and legend
entries are English strings in the code; a gettext catalogue (``notebooks/locale/<language>/
LC_MESSAGES/<notebook>.po``, entries with the context ``figure``) gives each one's
translation. An entry's ``msgid`` is the string as written in the code, f-string fields
included: ``"Held-out digits rebuilt from {CODE_DIM} numbers"`` matches the drawn text "Held-out
digits rebuilt from 16 numbers", and the translation ``"{CODE_DIM}개의 숫자로 재구성한 테스트
숫자"`` receives the same 16.

``load(language, notebook)`` reads the notebook's catalogue and aelib's own (the default
titles of ``plotting`` and ``views``); ``Catalogue.translate`` maps one drawn string.
``plotting.translate_figures`` applies a catalogue to every figure as it is drawn.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import polib

from aelib.paths import REPO_ROOT

LOCALE_DIR = REPO_ROOT / "notebooks" / "locale"
FIGURE_CONTEXT = "figure"
LIBRARY_DOMAIN = "aelib"  # the catalogue of aelib's own figure text

# One f-string field: "{" expression ["!" conversion] [":" spec] "}"; "{{" and "}}" are braces.
_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")


def fields(template: str) -> list[str]:
    """The f-string fields of ``template`` in order, e.g. ``["CODE_DIM", "x:.2f"]``."""
    return [m.group(1) for m in _FIELD.finditer(template) if m.group(1) is not None]


def literal(template: str) -> str:
    """``template`` without its fields: the text every string it formats to contains."""
    return _FIELD.sub(lambda m: m.group(0)[0] if m.group(1) is None else "", template)


def _pattern(template: str) -> re.Pattern[str]:
    """A regular expression matching every string ``template`` can format to."""
    parts, end = [], 0
    for match in _FIELD.finditer(template):
        parts.append(re.escape(template[end:match.start()]))
        parts.append(re.escape(match.group(0)[0]) if match.group(1) is None else "(.+?)")
        end = match.end()
    parts.append(re.escape(template[end:]))
    return re.compile("".join(parts), re.S)


def _fill(translation: str, values: Mapping[str, str]) -> str:
    """``translation`` with each field replaced by the text its English twin matched."""
    def field(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group(0)[0]
        return values[match.group(1)]
    return _FIELD.sub(field, translation)


class Catalogue:
    """English figure strings (templates with f-string fields) and their translations."""

    def __init__(self, translations: Mapping[str, str]) -> None:
        self._exact: dict[str, str] = {}
        self._templates: list[tuple[str, re.Pattern[str], list[str], str]] = []
        for template, translation in translations.items():
            names = fields(template)
            if sorted(names) != sorted(fields(translation)):
                raise ValueError(f"translations: {translation!r} must have the fields {names} "
                                 f"of {template!r}")
            if names and not literal(template).strip():
                raise ValueError(f"translations: {template!r} is only fields; it would match "
                                 "every text")
            if names:
                self._templates.append((template, _pattern(template), names, translation))
            else:
                self._exact[template.replace("{{", "{").replace("}}", "}")] = \
                    translation.replace("{{", "{").replace("}}", "}")

        # The most specific first: "prior = {name}" must not take "prior = {name}, labelled".
        self._templates.sort(key=lambda entry: -len(literal(entry[0])))

    def __len__(self) -> int:
        return len(self._exact) + len(self._templates)

    def translate(self, text: str) -> str:
        """The translation of ``text``, or ``text`` itself when no entry matches it."""
        if text in self._exact:
            return self._exact[text]
        for _, pattern, names, translation in self._templates:
            match = pattern.fullmatch(text)
            if match:
                return _fill(translation, dict(zip(names, match.groups(), strict=True)))
        return text


def catalogue_path(language: str, domain: str, locale_dir: Path = LOCALE_DIR) -> Path:
    """Where the ``language`` catalogue of ``domain`` (a notebook's stem, or "aelib") lives."""
    return Path(locale_dir) / language / "LC_MESSAGES" / f"{domain}.po"


def figure_entries(path: Path) -> dict[str, str]:
    """The translated, up-to-date ``figure`` entries of the catalogue at ``path``."""
    return {entry.msgid: entry.msgstr for entry in polib.pofile(str(path))
            if entry.msgctxt == FIGURE_CONTEXT and entry.translated() and not entry.obsolete}


def load(language: str, notebook: str, *, locale_dir: Path = LOCALE_DIR) -> Catalogue:
    """The figure text of ``notebook`` (its file name's stem) and of aelib in ``language``."""
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2}(_[A-Z]{2})?", language):
        raise ValueError(f"language must be a code such as 'ko', got {language!r}")
    own = catalogue_path(language, notebook, locale_dir)
    if not own.is_file():
        raise FileNotFoundError(f"notebook {notebook!r} has no {language!r} catalogue: {own}")
    entries = figure_entries(catalogue_path(language, LIBRARY_DOMAIN, locale_dir))
    entries.update(figure_entries(own))
    return Catalogue(entries)
