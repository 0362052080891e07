"""The error catalogue as a page: every :class:`~idverify.errors.ErrorCode` with its HTTP status, the key of its
user-facing text and that text in English and Chinese.

``docs/errors.md`` is this module's output (``python -m idverify.web.error_catalogue > docs/errors.md``); a test
fails when the committed page is stale, so adding a code means adding its two texts and regenerating the page.

Owns the rendering only: the codes live in ``errors.py``, the texts in ``locales/*.json``.
"""

from __future__ import annotations

from idverify.errors import ErrorCode
from idverify.i18n import catalogue

_INTRO = """\
# Error codes

Every failure idverify (and its regional hub) answers with carries one of these stable codes, in the API's error
envelope `{"error": {"code", "message", "message_key", "details"}}` and in the CLI's `--json` output. Match on
`code`, never on `message` (English, for logs and developers). `message_key` names the text the web UI shows, in
the user's language; both texts are below.

The status is the one the API answers with. A device driver may answer a device code with a more precise status
(502 for a garbled answer, 504 for a timeout, 422 when the patient or the card can fix it); `http_error` takes the
status of the HTTP failure it stands for; `token_revoked` when revoking a revoked key and `note_required` on an
override answer 409.

Generated from `ErrorCode` in `src/idverify/errors.py` and `src/idverify/locales/*.json` by
`python -m idverify.web.error_catalogue > docs/errors.md`; do not edit by hand.
"""


def markdown_cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell (also for the reason catalogue)."""
    return text.replace("|", "\\|")


def render_markdown() -> str:
    """The whole page, in the enumeration's order (grouped by room)."""
    en, zh = catalogue("en"), catalogue("zh-CN")
    rows = [
        "| code | HTTP | message key | English | 中文 |",
        "|---|---|---|---|---|",
    ]
    for code in ErrorCode:
        key = code.message_key
        texts = f"{markdown_cell(en.get(key, ''))} | {markdown_cell(zh.get(key, ''))}"
        rows.append(f"| `{code.value}` | {code.status} | `{key}` | {texts} |")
    return _INTRO + "\n" + "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
