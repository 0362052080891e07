"""Translation catalogues (zh-CN and English) and choosing the locale of a request.

Every user-visible string — the pages and their scripts, error messages, the monthly PDF — lives in
``locales/<locale>.json``: flat ``key -> text``
maps with ``{name}`` placeholders. Templates call ``t("key", name=value)``; scripts get the same catalogue embedded
in the page and call ``IV.t("key", {...})``. A missing key renders as the key itself (visible, never a crash) and the
test suite fails when the two catalogues differ or a template uses an unknown key.

It sits at the bottom of the house (it imports nothing of idverify) so that the web pages, the API's error
envelope and the reports all read one catalogue. It owns strings and locale negotiation only; it knows nothing of
roles, sessions or the API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LOCALES: tuple[str, ...] = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"  # the product is for clinics in China; English is the switchable alternative
LOCALE_COOKIE = "idverify_locale"
LOCALE_DIR = Path(__file__).parent / "locales"
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@cache
def catalogue(locale: str) -> Mapping[str, str]:
    """The flat key -> text map of ``locale`` (read once per process)."""
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    data = json.loads((LOCALE_DIR / f"{locale}.json").read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError(f"catalogue {locale} must be a flat JSON object of strings")
    return data


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def interpolate(text: str, values: Mapping[str, object]) -> str:
    """Replace ``{name}`` with ``values[name]``; unknown placeholders stay visible rather than raising."""
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), text)


@dataclass(frozen=True)
class Translator:
    locale: str

    def __call__(self, key: str, **values: object) -> str:
        return interpolate(catalogue(self.locale).get(key, key), values)

    @property
    def html_lang(self) -> str:
        return self.locale


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The cookie's locale when valid, else the first supported language in ``Accept-Language``, else zh-CN."""
    if cookie in LOCALES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";", 1)[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LOCALE
