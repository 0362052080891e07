"""The hub UI's catalogues: the hub's own ``locales/<locale>.json`` over the clinic UI's shared keys (common
words, error codes, login, language switch), so one translation of "Wrong username or password." serves both.
Locale negotiation and interpolation are the clinic UI's (:mod:`idverify.i18n`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from idverify.i18n import LOCALES, interpolate
from idverify.i18n import catalogue as clinic_catalogue

LOCALE_DIR = Path(__file__).parent / "locales"
SHARED_PREFIXES = ("a11y.", "locale.", "common.", "login.", "error.", "field.", "forbidden.", "nav.label",
                   "nav.logout")


@cache
def hub_own(locale: str) -> Mapping[str, str]:
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    data = json.loads((LOCALE_DIR / f"{locale}.json").read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError(f"hub catalogue {locale} must be a flat JSON object of strings")
    return data


@cache
def hub_catalogue(locale: str) -> Mapping[str, str]:
    shared = {k: v for k, v in clinic_catalogue(locale).items() if k.startswith(SHARED_PREFIXES)}
    return {**shared, **hub_own(locale)}


@dataclass(frozen=True)
class HubTranslator:
    locale: str

    def __call__(self, key: str, **values: object) -> str:
        return interpolate(hub_catalogue(self.locale).get(key, key), values)
