"""The error catalogue's texts and its page: every ``ErrorCode`` reads in both languages, and ``docs/errors.md``
is what the generator writes today."""

from __future__ import annotations

import re
from pathlib import Path

from idverify.errors import ErrorCode
from idverify.i18n import catalogue
from idverify.web.error_catalogue import render_markdown

REPO_ROOT = Path(__file__).resolve().parents[2]
_CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_code_has_an_english_and_a_chinese_text() -> None:
    en, zh = catalogue("en"), catalogue("zh-CN")
    missing = [c.value for c in ErrorCode if not en.get(c.message_key, "").strip() or c.message_key not in zh]
    assert missing == []
    untranslated = [c.value for c in ErrorCode if zh[c.message_key] == en[c.message_key]
                    or not _CJK.search(zh[c.message_key])]
    assert untranslated == []


def test_docs_errors_md_is_current() -> None:
    page = (REPO_ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert page == render_markdown(), "regenerate: python -m idverify.web.error_catalogue > docs/errors.md"
    assert all(f"| `{c.value}` | {c.status} | `{c.message_key}` |" in page for c in ErrorCode)


def test_readme_and_architecture_point_at_the_catalogue() -> None:
    assert "(docs/errors.md)" in (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    architecture = (REPO_ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert "`ErrorCode` in `errors.py`" in architecture and "idverify.web.error_catalogue" in architecture
