"""A small accessibility checker for the browser tests (no downloads, no axe): labels, focus order, contrast.

* **Labels** — every visible form control has an accessible name: a ``<label>`` (``for=`` or wrapping) with text,
  ``aria-label`` or ``aria-labelledby``.
* **Focus order** — no positive ``tabindex`` (it reorders focus against the page), and pressing Tab walks the
  focusable elements in document order (checked by :func:`tab_order_problems` with real key presses; scrolled
  containers with nothing focusable inside count as stops, as Chrome makes them keyboard-focusable).
* **Contrast** — every visible text has a contrast ratio of at least 4.5:1 (WCAG 2.x AA, normal text; the rule is
  applied to large text too) between its computed ``color`` and the background it sits on: the first opaque
  ``background-color`` up its ancestors, with semi-transparent layers composited on top. Text over a background
  image or inside a disabled control (WCAG exempts inactive components) is skipped.
"""

from __future__ import annotations

from typing import Any

MIN_CONTRAST = 4.5

_CHECK_JS = r"""
(minContrast) => {
  const problems = [];
  const visible = (el) => {
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return s.visibility !== "hidden" && s.display !== "none" && r.width > 0 && r.height > 0 &&
      !el.closest("[hidden]") && !el.closest("dialog:not([open])") &&
      !el.closest("details:not([open]) > :not(summary)");
  };
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");

  // --- labels
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (["hidden", "submit", "button", "reset"].includes(el.type) || !visible(el)) continue;
    const labelled = [...(el.labels || [])].some((l) => l.textContent.trim()) ||
      (el.getAttribute("aria-label") || "").trim() ||
      (el.getAttribute("aria-labelledby") || "").split(/\s+/).some((id) => id && document.getElementById(id) &&
        document.getElementById(id).textContent.trim());
    if (!labelled) problems.push("no label: " + describe(el));
  }

  // --- positive tabindex
  for (const el of document.querySelectorAll("[tabindex]")) {
    if (Number(el.getAttribute("tabindex")) > 0) problems.push("positive tabindex: " + describe(el));
  }

  // --- contrast
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, bottom) => ({ r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a), a: 1 });
  const background = (el) => {
    const layers = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const s = getComputedStyle(node);
      if (s.backgroundImage && s.backgroundImage !== "none") return null;
      const c = parse(s.backgroundColor);
      if (c && c.a > 0) {
        layers.push(c);
        if (c.a >= 1) break;
      }
    }
    let bg = { r: 255, g: 255, b: 255, a: 1 };  // the canvas
    for (const layer of layers.reverse()) bg = over(layer, bg);
    return bg;
  };
  const luminance = (c) => {
    const ch = [c.r, c.g, c.b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
  };
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || seen.has(el) || !visible(el)) continue;
    seen.add(el);
    if (el.closest("script, style, noscript, option, [aria-hidden='true']")) continue;
    if (el.closest("button:disabled, input:disabled, select:disabled, [aria-disabled='true']")) continue;
    const s = getComputedStyle(el);
    if (parseFloat(s.opacity) === 0) continue;
    const bg = background(el);
    const fg = parse(s.color);
    if (!bg || !fg) continue;
    const text = over(fg, bg);
    const [l1, l2] = [luminance(text), luminance(bg)].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    if (ratio < minContrast) {
      const text = node.textContent.trim().slice(0, 30);
      problems.push(`contrast ${ratio.toFixed(2)}:1 < ${minContrast}:1: ${describe(el)} "${text}"`);
    }
  }
  return problems;
}
"""

_FOCUSABLE_JS = r"""
() => {
  const sel = "a[href], button, input, select, textarea, summary, [tabindex]";
  // Chrome also stops at a scrolled container (e.g. a wide table's wrapper) that has nothing focusable inside
  const scroller = (el) => {
    const s = getComputedStyle(el);
    const scrolls = (o) => o === "auto" || o === "scroll";
    return ((scrolls(s.overflowX) && el.scrollWidth > el.clientWidth) ||
      (scrolls(s.overflowY) && el.scrollHeight > el.clientHeight)) && !el.querySelector(sel);
  };
  const candidates = [...document.querySelectorAll(sel + ", div, section, pre")].filter(
    (el) => el.matches(sel) || scroller(el));
  const all = candidates.filter((el) => {
    if (el.disabled || el.getAttribute("tabindex") === "-1" || el.type === "hidden") return false;
    const s = getComputedStyle(el), r = el.getBoundingClientRect();
    return s.visibility !== "hidden" && s.display !== "none" && r.width > 0 && r.height > 0 && !el.closest("[hidden]")
      && !el.closest("dialog:not([open])") && !el.closest("details:not([open]) > :not(summary)");
  });
  // radio groups are one tab stop: keep the checked (or first) radio of each group
  const groups = new Set();
  const stops = all.filter((el) => {
    if (el.type !== "radio") return true;
    const group = (el.form ? el.form.id : "") + "/" + el.name;
    const checked = document.querySelector(`input[type=radio][name="${el.name}"]:checked`);
    if (groups.has(group) || (checked && checked !== el)) return false;
    groups.add(group);
    return true;
  });
  stops.forEach((el, i) => el.setAttribute("data-a11y-stop", String(i)));
  return stops.length;
}
"""


def problems(page: Any) -> list[str]:
    """Label, tabindex and contrast problems of the page as it is now."""
    found: list[str] = page.evaluate(_CHECK_JS, MIN_CONTRAST)
    return found


def tab_order_problems(page: Any, max_stops: int = 60) -> list[str]:
    """Focus the first tab stop, press Tab and check focus visits the others in document order."""
    count = int(page.evaluate(_FOCUSABLE_JS))
    if count < 2:
        return []
    page.evaluate("() => document.querySelector('[data-a11y-stop=\"0\"]').focus()")
    visited: list[int] = [0]
    names: list[str] = []
    for _ in range(2 * min(count, max_stops)):
        if len(visited) >= min(count, max_stops):
            break
        page.keyboard.press("Tab")
        stop, name = page.evaluate(_ACTIVE_JS)
        names.append(name)
        if stop is None:
            return [f"Tab reached {name}, outside the tab stops, after {visited}"]
        if int(stop) != visited[-1]:  # date and month inputs take one Tab per segment (day, month, year)
            visited.append(int(stop))
    expected = list(range(len(visited)))
    if visited == expected:
        return []
    return [f"focus order {visited} differs from document order {expected}: {names}"]


_ACTIVE_JS = r"""
() => {
  const el = document.activeElement;
  if (!el) return [null, "nothing"];
  return [el.getAttribute("data-a11y-stop"), el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.getAttribute("name") ? "[name=" + el.getAttribute("name") + "]" : "")];
}
"""
