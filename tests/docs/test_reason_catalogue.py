"""Reason codes in both languages: every ``ReasonCode`` has a label in English and in Chinese, the Chinese ones
contain no English, every label names only the parameters its code carries, and ``docs/reasons.md`` is what the
generator writes today."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from idverify.biometrics.reasons import PARAMS, Reason, ReasonCode, render
from idverify.i18n import Translator, catalogue, placeholders
from idverify.web.reason_catalogue import render_markdown

REPO_ROOT = Path(__file__).resolve().parents[2]
_CJK = re.compile(r"[\u4e00-\u9fff]")
#: What reads as an English word on a Chinese screen (a run of four ASCII letters); placeholders are removed first.
ENGLISH = re.compile(r"[A-Za-z]{4,}")
#: Keys under reason.* that are no code: how a reason is put together, values only reasons name, PDF headings.
HELPER_KEYS = re.compile(r"^reason\.(with_cause|with_score|list_separator|param\..+|pdf\..+|validation\..+)$")


def test_every_code_has_an_english_and_a_chinese_label() -> None:
    en, zh = catalogue("en"), catalogue("zh-CN")
    missing = [c.value for c in ReasonCode if not en.get(c.label_key, "").strip() or not zh.get(c.label_key)]
    assert missing == []
    placeholder_only = {ReasonCode.FINGER_POSITION_FAILED}  # the finger's name; its cause follows
    untranslated = [c.value for c in ReasonCode if c not in placeholder_only
                    and (zh[c.label_key] == en[c.label_key] or not _CJK.search(zh[c.label_key]))]
    assert untranslated == []


def test_no_chinese_label_contains_english() -> None:
    zh = catalogue("zh-CN")
    keys = [k for k in zh if k.startswith("reason.")]
    english = {k: zh[k] for k in keys if ENGLISH.search(re.sub(r"\{[A-Za-z_0-9]+\}", "", zh[k]))}
    assert english == {}


def test_every_reason_key_is_a_code_or_a_helper_and_names_only_its_parameters() -> None:
    codes = {c.label_key: c for c in ReasonCode}
    for locale in ("en", "zh-CN"):
        words = catalogue(locale)
        stray = [k for k in words if k.startswith("reason.") and k not in codes and not HELPER_KEYS.match(k)]
        assert stray == [], locale
        wrong = {c.value: placeholders(words[c.label_key]) for c in ReasonCode
                 if not placeholders(words[c.label_key]) <= set(PARAMS.get(c, ()))}
        assert wrong == {}, locale
    assert placeholders(catalogue("en")["reason.with_score"]) == {"reason", "score", "threshold"}


def _sample(code: ReasonCode) -> Reason:
    values = {"factor": "document_photo", "stage": "embryo_transfer", "position": "unknown", "score": 0.41234,
              "threshold": 0.6, "required": 2, "usable": 1, "rejects_24h": 3, "text": "文字"}
    cause = Reason.of(ReasonCode.PAD_CHALLENGE_FAILED, Reason(ReasonCode.TURN_WRONG_WAY))
    return Reason.of(code, cause if "cause" in PARAMS.get(code, ()) else None,
                     **{p: values[p] for p in PARAMS.get(code, ()) if p != "cause"})


@pytest.mark.parametrize("code", list(ReasonCode))
def test_every_code_renders_in_chinese_without_english(code: ReasonCode) -> None:
    """With every parameter it may carry (a factor, a stage, a finger, a cause of a cause, a score): the whole
    sentence a Chinese screen shows has no English word and no placeholder left."""
    text = render(Translator("zh-CN"), _sample(code).as_dict())
    assert text and not ENGLISH.search(text) and "{" not in text, text
    english = render(Translator("en"), _sample(code))
    assert english == _sample(code).english() and "{" not in english


def test_a_reason_reads_back_from_its_stored_forms() -> None:
    reason = Reason.of(ReasonCode.LIVENESS_FAILED, Reason(ReasonCode.PAD_SPOOF_SUSPECTED), factor="face")
    assert Reason.parse(reason.as_dict()) == reason
    assert Reason.parse("face_mismatch") == Reason(ReasonCode.FACE_MISMATCH)  # a bare code
    old = Reason.parse("face does not match enrolment")  # a row written before reason codes
    assert old == Reason(ReasonCode.LEGACY_TEXT, {"text": "face does not match enrolment"})
    assert render(Translator("zh-CN"), old) == "face does not match enrolment"  # shown as it was recorded
    assert Reason.parse({"code": "no_such_code"}).code is ReasonCode.LEGACY_TEXT
    assert reason.english() == "Liveness check failed (Face): The capture looks like a photo or a screen — " \
                               "capture the patient directly"


def test_docs_reasons_md_is_current() -> None:
    page = (REPO_ROOT / "docs" / "reasons.md").read_text(encoding="utf-8")
    assert page == render_markdown(), "regenerate: python -m idverify.web.reason_catalogue > docs/reasons.md"
    assert all(f"| `{c.value}` |" in page for c in ReasonCode)


def test_readme_and_architecture_point_at_the_catalogue() -> None:
    assert "(docs/reasons.md)" in (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    architecture = (REPO_ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert "`ReasonCode` in `biometrics/reasons.py`" in architecture and "idverify.web.reason_catalogue" in architecture
