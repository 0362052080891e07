/* Inspector audit view: ledger integrity and the latest signed checkpoint, the event browser (filters in the URL,
 * keyset paging with the ledger index), and export links carrying the same filters. Events hold ids, never names;
 * filters are codes, dates and ids only. The type filter is a list of the known types, translated
 * (GET /audit/event-types); a JSONL export that other filters would make unverifiable says why and offers the
 * export of the same dates. */
(function () {
  "use strict";
  const IV = window.IV;
  const FILTERS = ["from", "to", "type", "stage", "decision"];
  const PAGE_SIZE = 50;

  function filters() {
    const params = new URLSearchParams(window.location.search);
    const q = new URLSearchParams();
    for (const name of FILTERS) {
      const value = params.get(name);
      if (value) q.set(name, value);
    }
    return q;
  }

  function ids(obj) {
    return Object.entries(obj || {}).filter(([, v]) => v !== null && v !== undefined && v !== "")
      .map(([k, v]) => k + ": " + (typeof v === "string" && v.length > 12 ? IV.shortId(v) : String(v))).join(", ");
  }

  /* "Stage check completed" for verification.completed; a type this page has no text for says so, with its code */
  function typeLabel(type) {
    const key = "inspector.event_type." + type;
    return IV.has(key) ? IV.t(key) : IV.t("inspector.event_type.other", { type: type });
  }

  function groupLabel(group) {
    const key = "inspector.event_group." + group;
    return IV.has(key) ? IV.t(key) : IV.t("inspector.event_group.other", { group: group });
  }

  /* The type filter offers the known types, translated, and their families ("verification.*"); the active
   * filter stays selected (kept as its own option when the daemon no longer lists it). */
  async function loadTypes() {
    const select = document.getElementById("a-type");
    const active = new URLSearchParams(window.location.search).get("type") || "";
    let listing;
    try {
      listing = await IV.api("GET", "/audit/event-types");
    } catch (err) {
      return; /* the filter keeps its "all" and active options; the events table reports API errors */
    }
    const option = (value, text) => IV.el("option", { value: value, selected: value === active }, text);
    const groups = IV.el("optgroup", { label: IV.t("inspector.event_groups") },
      ...listing.groups.map((g) => option(g + ".*", groupLabel(g))));
    const types = IV.el("optgroup", { label: IV.t("inspector.event_types") },
      ...listing.types.map((type) => option(type, typeLabel(type))));
    const known = new Set([...listing.types, ...listing.groups.map((g) => g + ".*")]);
    const extra = active && !known.has(active) ? [option(active, active.endsWith(".*")
      ? groupLabel(active.slice(0, -2)) : typeLabel(active))] : [];
    select.replaceChildren(option("", IV.t("inspector.event_type_any")), ...extra, groups, types);
  }

  function eventRow(e) {
    const actor = e.actor || {};
    return IV.el("tr", { dataset: { index: String(e.index), type: e.type } },
      IV.el("td", { class: "mono" }, String(e.index)),
      IV.el("td", {}, IV.fmtDateTime(e.recorded_at)),
      IV.el("td", {}, typeLabel(e.type), IV.el("span", { class: "event-code mono" }, e.type)),
      IV.el("td", {}, actor.role ? IV.label("role", actor.role) : "",  /* ids in monospace: copied, not read */
        actor.staff_id ? [" ", IV.el("span", { class: "mono" }, IV.shortId(actor.staff_id))] : "",
        actor.api_key_id ? [" " + IV.t("audit.api_key") + " ", IV.el("span", { class: "mono" }, IV.shortId(actor.api_key_id))]
          : "",
        actor.workstation ? [" @", IV.el("span", { class: "mono" }, actor.workstation)] : ""),
      IV.el("td", { class: "mono" }, ids(e.subject) || "—"),
      IV.el("td", {}, IV.el("details", { class: "event-data" }, IV.el("summary", {}, IV.t("audit.show")),
        IV.el("pre", { class: "json" }, JSON.stringify(e.data || {}, null, 2)))));
  }

  async function loadEvents() {
    const q = filters();
    const params = new URLSearchParams(window.location.search);
    const after = params.get("after");
    const api = new URLSearchParams(q);
    if (after && /^\d+$/.test(after)) api.set("after", after);
    api.set("limit", String(PAGE_SIZE));
    const tbody = document.querySelector("#events tbody");
    try {
      const page = await IV.api("GET", "/audit/events?" + api.toString());
      tbody.replaceChildren(...page.items.map(eventRow));
      if (!page.items.length) {
        tbody.replaceChildren(IV.el("tr", {}, IV.el("td", { colspan: "6", class: "muted" }, IV.t("list.empty"))));
      }
      const older = document.getElementById("events-older");
      older.hidden = page.next_after === null || page.next_after === undefined;
      if (!older.hidden) {
        const next = new URLSearchParams(q);
        next.set("after", String(page.next_after));
        older.href = window.location.pathname + "?" + next.toString();
      }
      const newest = document.getElementById("events-newest");
      newest.hidden = !after;
      newest.href = window.location.pathname + (q.toString() ? "?" + q.toString() : "");
    } catch (err) {
      IV.pageError(err);
    }
  }

  async function loadIntegrity() {
    const status = document.getElementById("integrity-status");
    try {
      const report = await IV.api("GET", "/audit/integrity");
      status.replaceChildren(IV.el("span", { class: "badge " + (report.ok ? "badge-ok" : "badge-off"),
        dataset: { ok: String(report.ok) } }, IV.t(report.ok ? "audit.intact" : "audit.broken")));
      document.getElementById("integrity-size").textContent = String(report.tree_size);
      document.getElementById("integrity-checked").textContent = IV.fmtDateTime(report.checked_at);
      const problems = document.getElementById("integrity-problems");
      problems.replaceChildren(...(report.problems || []).map((p) => IV.el("li", {}, p)));
      problems.hidden = !(report.problems || []).length;
    } catch (err) {
      status.textContent = "—";
      IV.pageError(err);
    }
    try {
      const cp = await IV.api("GET", "/audit/checkpoints/latest");
      document.getElementById("checkpoint-size").textContent = String(cp.tree_size);
      document.getElementById("checkpoint-root").textContent = cp.root_hash;
      document.getElementById("checkpoint-signed").textContent = IV.fmtDateTime(cp.signed_at);
      document.getElementById("checkpoint-key").textContent = cp.key_id;
      document.getElementById("checkpoint-note").textContent = cp.note;
    } catch (err) {
      /* no checkpoint yet (404) is normal on a fresh ledger */
      document.getElementById("checkpoint-root").textContent = IV.t("audit.no_checkpoint");
    }
  }

  /* A verifiable JSONL export covers a contiguous stretch of the ledger: only dates may narrow it (the daemon
   * refuses anything else with filter_not_verifiable). With another filter set, the JSONL button explains that
   * and offers the JSONL export of the same dates instead of downloading an error. */
  const DATE_FILTERS = ["from", "to"];

  function wireExports() {
    const q = filters();
    for (const link of document.querySelectorAll(".export-bar a[data-format]")) {
      const p = new URLSearchParams(q);
      p.set("format", link.dataset.format);
      if (link.dataset.fhirVersion) p.set("fhir_version", link.dataset.fhirVersion);
      link.href = "/api/v1/audit/export?" + p.toString();
    }
    const contentFilters = [...q.keys()].filter((name) => !DATE_FILTERS.includes(name));
    const jsonl = document.getElementById("export-jsonl");
    const notice = document.getElementById("jsonl-notice");
    if (!contentFilters.length) return;
    const dates = new URLSearchParams({ format: "jsonl" });
    for (const name of DATE_FILTERS) if (q.get(name)) dates.set(name, q.get(name));
    const contiguous = document.getElementById("export-jsonl-contiguous");
    contiguous.href = "/api/v1/audit/export?" + dates.toString();
    contiguous.textContent = IV.t(q.get("from") || q.get("to") ? "inspector.jsonl_contiguous"
      : "inspector.jsonl_contiguous_all");
    jsonl.dataset.blocked = contentFilters.join(",");
    jsonl.removeAttribute("download");
    jsonl.setAttribute("aria-controls", "jsonl-notice");
    jsonl.addEventListener("click", (event) => {
      event.preventDefault();
      notice.hidden = false;
      contiguous.focus();
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("audit-filters");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const q = new URLSearchParams();
      for (const [name, value] of new FormData(form).entries()) if (String(value).trim()) q.set(name, String(value).trim());
      const qs = q.toString();
      window.location.assign(window.location.pathname + (qs ? "?" + qs : ""));
    });
    wireExports();
    loadTypes();
    loadIntegrity();
    loadEvents();
  });
})();
