"""Every screen of every role reads in Chinese: a zh-CN page shows no English word of ours, with its data loaded.

The rule of tests/web/test_reason_language.py (no run of four ASCII letters) applied to the whole visible text
of each screen, minus what is not language: identifiers shown in monospace (ids, keys, hashes, model versions,
settings' names), code blocks, the language switch, what people typed (marked ``translate="no"``: staff and key
names, the clinic's name) and the names of standards and products below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from idverify.auth.roles import Role
from idverify.web.pages import SCREENS

from .conftest import LiveDaemon

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")

Login = Callable[..., None]
ENGLISH = re.compile(r"[A-Za-z]{4,}")
#: names of standards, formats and products — the same in every language
NAMES = {"idverify", "ICSI", "FHIR", "AuditEvent", "JSON", "JSONL", "NDJSON", "Webhook"}
ROLE_OF = {"nurse1": Role.NURSE, "itadmin": Role.IT_ADMIN, "inspector": Role.INSPECTOR}
VISIBLE_TEXT = """() => {
  const copy = document.body.cloneNode(true);
  const skip = '.mono, code, pre, script, style, [data-locale], [hidden], [translate="no"]';
  copy.querySelectorAll(skip).forEach((e) => e.remove());
  document.body.appendChild(copy);
  const text = copy.innerText;
  copy.remove();
  return text;
}"""


@pytest.mark.parametrize("username", list(ROLE_OF))
def test_every_screen_reads_in_chinese(page: Any, login: Login, live_daemon: LiveDaemon, username: str) -> None:
    page.context.add_cookies([{"name": "idverify_locale", "value": "zh-CN", "url": live_daemon.base_url}])
    login(page, username)
    found: dict[str, list[str]] = {}
    screens = [s for s in SCREENS if s.role is ROLE_OF[username]]
    assert screens
    for screen in screens:
        page.goto(screen.path)
        page.wait_for_load_state("networkidle")
        words = sorted({w for w in ENGLISH.findall(page.evaluate(VISIBLE_TEXT)) if w not in NAMES})
        if words:
            found[screen.path] = words
    assert found == {}
