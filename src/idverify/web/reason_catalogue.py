"""The reason catalogue as a page: every :class:`~idverify.biometrics.reasons.ReasonCode` with the parameters it
may carry and its label in English and Chinese.

``docs/reasons.md`` is this module's output (``python -m idverify.web.reason_catalogue > docs/reasons.md``); a test
fails when the committed page is stale, so adding a code means adding its two labels and regenerating the page.

Owns the rendering only: the codes live in ``biometrics/reasons.py``, the labels in ``locales/*.json``.
"""

from __future__ import annotations

from idverify.biometrics.reasons import PARAMS, ReasonCode
from idverify.i18n import catalogue
from idverify.web.error_catalogue import markdown_cell

_INTRO = """\
# Reason codes

Every decision idverify makes — a stage check's accept, reject or retry, an enrolment's refusal or its prompts to
capture again — and the repeated-reject alert carry their reasons as stable codes, never as sentences: in the API
(`reasons: [{"code", "params", "message"}]`, the check's `alert`), in the ledger events and in the webhooks. Match on
`code`; `params` may hold the `factor` (`face`, `fingerprint`, `document_photo`), the `stage`, the `score` beside
its `threshold`, a count, and a `cause` — another reason, the one that made this one happen (a liveness check
failed *because* the capture looked like a photo). `message` is the English sentence, for logs and developers.

Screens, the monthly PDF and the monthly CSV's `label` column render the code in the reader's language: the label
below with its parameters filled in, then `: ` and the cause's label, then the score beside its threshold. A reason
recorded before reason codes existed reads as `legacy_text` with the old sentence in `params.text`.

Generated from `ReasonCode` in `src/idverify/biometrics/reasons.py` and `src/idverify/locales/*.json` by
`python -m idverify.web.reason_catalogue > docs/reasons.md`; do not edit by hand.
"""


def render_markdown() -> str:
    """The whole page, in the enumeration's order (grouped by where the reason comes from)."""
    en, zh = catalogue("en"), catalogue("zh-CN")
    rows = [
        "| code | parameters | English | 中文 |",
        "|---|---|---|---|",
    ]
    for code in ReasonCode:
        key = code.label_key
        params = ", ".join(f"`{p}`" for p in PARAMS.get(code, ())) or "—"
        texts = f"{markdown_cell(en.get(key, ''))} | {markdown_cell(zh.get(key, ''))}"
        rows.append(f"| `{code.value}` | {params} | {texts} |")
    return _INTRO + "\n" + "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
