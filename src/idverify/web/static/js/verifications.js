/* Verification list (inspector: the whole clinic; nurse: this workstation — the API decides the scope).
 * Filters and the page offset live in the page URL (ids and codes only, never names), so a reload, the back
 * button or a bookmark shows the same list. */
(function () {
  "use strict";
  const IV = window.IV;
  const PAGE_SIZE = 25;
  const DATE = /^\d{4}-\d{2}-\d{2}$/;

  function localMidnight(date, addDays) {
    const [y, m, d] = date.split("-").map(Number);
    return new Date(y, m - 1, d + (addDays || 0)).toISOString();
  }

  /* The API query for the page URL's filters; invalid values are dropped rather than sent. */
  function apiQuery(params) {
    const q = new URLSearchParams();
    const stage = params.get("stage");
    if (stage && /^[a-z_]{1,32}$/.test(stage)) q.set("stage", stage);
    const decision = params.get("decision");
    if (["accept", "reject", "retry"].includes(decision)) q.set("decision", decision);
    const since = params.get("since");
    if (since && DATE.test(since)) q.set("since", localMidnight(since));
    const until = params.get("until");
    if (until && DATE.test(until)) q.set("until", localMidnight(until, 1)); // the whole "until" day counts
    q.set("offset", String(offset(params)));
    q.set("limit", String(PAGE_SIZE));
    return q;
  }

  function offset(params) {
    const n = Number.parseInt(params.get("offset") || "0", 10);
    return Number.isFinite(n) && n > 0 ? n : 0;
  }

  function pageLink(params, newOffset) {
    const next = new URLSearchParams(params);
    if (newOffset > 0) next.set("offset", String(newOffset));
    else next.delete("offset");
    const qs = next.toString();
    return window.location.pathname + (qs ? "?" + qs : "");
  }

  function detailRow(v, columns) {
    const facts = IV.el("dl", { class: "facts" },
      IV.el("dt", {}, IV.t("col.verification_id")), IV.el("dd", {}, v.id),
      IV.el("dt", {}, IV.t("col.cycle")), IV.el("dd", {}, v.cycle_id),
      IV.el("dt", {}, IV.t("col.patient")), IV.el("dd", {}, v.patient_id),
      IV.el("dt", {}, IV.t("col.staff")), IV.el("dd", {}, v.staff_id || "—"),
      IV.el("dt", {}, IV.t("col.started_at")), IV.el("dd", {}, IV.fmtDateTime(v.started_at)),
      IV.el("dt", {}, IV.t("col.overridden")), IV.el("dd", {}, IV.t(v.overridden ? "common.yes" : "common.no")));
    const json = (obj) => IV.el("pre", { class: "json" }, JSON.stringify(obj || {}, null, 2));
    return IV.el("tr", { class: "detail-row", hidden: true, dataset: { detailFor: v.id } },
      IV.el("td", { colspan: String(columns) },
        IV.el("div", { class: "detail-grid" },
          IV.el("div", {}, facts),
          IV.el("div", {}, IV.el("h3", {}, IV.t("result.factors")), json(v.factors)),
          IV.el("div", {}, IV.el("h3", {}, IV.t("col.policy")), json(v.policy)),
          IV.el("div", {}, IV.el("h3", {}, IV.t("col.devices")), json(v.devices)))));
  }

  function row(v) {
    const detail = detailRow(v, 7);
    const toggle = IV.el("button", { type: "button", class: "btn btn-small", "aria-expanded": "false",
      dataset: { toggleFor: v.id } }, IV.t("col.details"));
    toggle.addEventListener("click", () => {
      detail.hidden = !detail.hidden;
      toggle.setAttribute("aria-expanded", detail.hidden ? "false" : "true");
    });
    const reasons = (v.reasons || []).map((r) => IV.reason(r)).join(IV.t("reason.list_separator")) || "—";
    const main = IV.el("tr", { dataset: { verificationId: v.id } },
      IV.el("td", {}, IV.fmtDateTime(v.decided_at)),
      IV.el("td", {}, IV.label("stage", v.stage)),
      IV.el("td", {}, IV.decisionBadge(v.decision), v.overridden ? IV.el("span", { class: "badge badge-override" },
        IV.t("col.overridden")) : null),
      IV.el("td", {}, reasons),
      IV.el("td", {}, v.workstation_id),
      IV.el("td", { class: "mono" }, IV.shortId(v.cycle_id)),
      IV.el("td", {}, toggle));
    return [main, detail];
  }

  async function load() {
    const params = new URLSearchParams(window.location.search);
    const tbody = document.querySelector("#verifications tbody");
    const summary = document.getElementById("list-summary");
    summary.textContent = IV.t("common.loading");
    try {
      const page = await IV.api("GET", "/verifications?" + apiQuery(params).toString());
      tbody.replaceChildren(...page.items.flatMap(row));
      if (!page.items.length) {
        tbody.replaceChildren(IV.el("tr", {}, IV.el("td", { colspan: "7", class: "muted" }, IV.t("list.empty"))));
      }
      summary.textContent = IV.t("list.total", { total: page.total });
      const start = page.items.length ? page.offset + 1 : 0;
      const end = page.offset + page.items.length;
      document.getElementById("pager-range").textContent =
        IV.t("pager.range", { start: start, end: end, total: page.total });
      const prev = document.getElementById("pager-prev");
      const next = document.getElementById("pager-next");
      prev.hidden = page.offset <= 0;
      prev.href = pageLink(params, Math.max(0, page.offset - PAGE_SIZE));
      next.hidden = end >= page.total;
      next.href = pageLink(params, page.offset + PAGE_SIZE);
    } catch (err) {
      summary.textContent = "";
      IV.pageError(err);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("filters");
    form.addEventListener("submit", (event) => {
      /* Send only the filters that are set, so the URL stays short and free of empty parameters. */
      event.preventDefault();
      const q = new URLSearchParams();
      for (const [name, value] of new FormData(form).entries()) if (value) q.set(name, String(value));
      const qs = q.toString();
      window.location.assign(window.location.pathname + (qs ? "?" + qs : ""));
    });
    load();
  });
})();
