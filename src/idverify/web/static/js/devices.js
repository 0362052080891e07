/* Devices and health (it_admin): polls /healthz every few seconds and shows each device and subsystem. The health
 * endpoint names device kinds and states only, never patient data. */
(function () {
  "use strict";
  const IV = window.IV;
  const INTERVAL_MS = 5000;

  function statusBadge(status) {
    const cls = status === "ok" ? "badge-ok" : status === "degraded" || status === "warning" ? "badge-warn" : "badge-off";
    return IV.el("span", { class: "badge " + cls, dataset: { status: status || "unknown" } },
      IV.label("health", status || "unknown"));
  }

  function card(item) {
    const facts = IV.el("dl", { class: "facts" });
    for (const [k, v] of Object.entries(item)) {
      if (k === "kind" || k === "status" || k === "name") continue;
      facts.append(IV.el("dt", {}, IV.label("health_field", k)),
        IV.el("dd", {}, typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)));
    }
    return IV.el("div", { class: "card", dataset: { kind: item.kind || "", status: item.status || "unknown" } },
      IV.el("h3", {}, IV.label("device_kind", item.kind || item.name || "?"),
        item.name && item.name !== item.kind ? IV.el("span", { class: "muted" }, " " + item.name) : null),
      statusBadge(item.status), facts);
  }

  function cards(containerId, items, emptyKey) {
    const box = document.getElementById(containerId);
    box.replaceChildren(...(items.length ? items.map(card) : [IV.el("p", { class: "muted" }, IV.t(emptyKey))]));
  }

  async function refresh() {
    let body;
    try {
      const response = await fetch("/healthz", { headers: { Accept: "application/json" }, cache: "no-store" });
      body = await response.json(); // 503 still carries the body naming what is down
      IV.clearError(document.getElementById("page-error"));
    } catch (err) {
      IV.pageError({ code: "network_error" });
      return;
    }
    const status = document.getElementById("health-status");
    status.replaceChildren(statusBadge(body.status));
    const db = body.database || {};
    document.getElementById("health-database").replaceChildren(statusBadge(db.status),
      db.backend ? " " + db.backend : "");
    document.getElementById("health-version").textContent = body.version || "—";
    document.getElementById("health-workstation").textContent = body.workstation || "—";
    const devices = body.devices || [];
    const others = (body.components || []).filter((c) => !devices.includes(c) &&
      !devices.some((d) => d.kind === c.kind && d.name === c.name));
    cards("device-cards", devices, "devices.none");
    cards("component-cards", others, "devices.no_components");
    document.getElementById("health-updated").textContent = IV.t("devices.updated", { time: IV.fmtDateTime(new Date().toISOString()) });
  }

  document.addEventListener("DOMContentLoaded", () => {
    refresh();
    window.setInterval(refresh, INTERVAL_MS);
  });
})();
