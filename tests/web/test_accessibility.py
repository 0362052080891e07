"""Accessibility basics on every screen (see ``a11y.py``): each form control labelled, focus in document order
with no positive tabindex, text contrast of at least 4.5:1 computed from the CSS colours."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from idverify.auth.roles import Role
from idverify.web.pages import SCREENS

from . import a11y

pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
from playwright.sync_api import expect

USER = {Role.NURSE: "nurse1", Role.IT_ADMIN: "itadmin", Role.INSPECTOR: "inspector"}
# what each screen loads through the API, so the check runs on the filled page, not on a loading placeholder
READY = {
    "/nurse/check": "#cycles .choice",
    "/nurse/results": "#verifications tbody tr",
    "/admin/devices": "#device-cards > *",
    "/admin/staff": "#staff-table tbody tr",
    "/admin/settings": "#policy-table tbody tr",
    "/inspector/verifications": "#verifications tbody tr",
    "/inspector/audit": "#events tbody tr",
    "/inspector/reports": "#stage-chart .bar-row",
}


def test_login_page(page: Any) -> None:
    page.goto("/login")
    assert a11y.problems(page) == []
    assert a11y.tab_order_problems(page) == []


@pytest.mark.parametrize("screen", SCREENS, ids=[s.path for s in SCREENS])
def test_screen(page: Any, login: Callable[..., None], screen: Any) -> None:
    login(page, USER[screen.role])
    page.goto(screen.path)
    if screen.path in READY:
        expect(page.locator(READY[screen.path]).first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert a11y.problems(page) == []
    assert a11y.tab_order_problems(page) == []


def test_the_checker_finds_what_it_looks_for(page: Any) -> None:
    """The checks above pass because the pages are right, not because the checker sees nothing."""
    page.goto("/login")
    page.evaluate("""() => {
      const p = document.createElement("p");
      p.textContent = "faint text";
      p.style.color = "#aaaaaa";
      p.style.background = "#ffffff";
      const input = document.createElement("input");
      input.id = "unlabelled";
      const late = document.createElement("button");
      late.textContent = "jumps the queue";
      late.tabIndex = 3;
      document.querySelector("main").append(p, input, late);
    }""")
    found = a11y.problems(page)
    assert any(f.startswith("contrast 2.32:1") and "faint text" in f for f in found)
    assert "no label: input#unlabelled" in found
    assert any(f.startswith("positive tabindex: button") for f in found)
    page.evaluate("() => { document.querySelector('main button[tabindex]').removeAttribute('tabindex'); "
                  "document.querySelector('main').prepend(document.querySelector('main button:last-of-type')); }")
    assert a11y.tab_order_problems(page) == []  # moved, not reordered: document order is still the focus order
