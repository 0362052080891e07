/* Devices and health (it_admin): polls /healthz every few seconds and shows each device and subsystem. The health
 * endpoint names device kinds and states only, never patient data. Each device has a test (POST
 * /api/v1/devices/{document,fingerprint,camera}/test) that reports type, size, quality, faces in view and timing —
 * never an image or whose card was read. */
(function () {
  "use strict";
  const IV = window.IV;
  const INTERVAL_MS = 5000;
  /* Test captures per device kind and the path that runs them; results survive the periodic re-render. */
  const TESTS = { fingerprint: "/devices/fingerprint/test", id_reader: "/devices/document/test",
    card_reader: "/devices/document/test", camera: "/devices/camera/test" };
  /* what each test's success says, from its result fields */
  const OUTCOME = {
    fingerprint: (r) => IV.t("devices.test_ok", { width: r.width, height: r.height, ms: Math.round(r.elapsed_ms),
      quality: r.quality === null || r.quality === undefined ? "—" : r.quality }),
    id_reader: (r) => IV.t("devices.test_card_ok", { type: IV.label("document_type", r.document_type),
      ms: Math.round(r.elapsed_ms), checks: IV.t(r.checks && r.checks.checksum ? "devices.checks_ok" : "devices.checks_failed") }),
    camera: (r) => IV.t("devices.test_camera_ok", { width: r.width, height: r.height, ms: Math.round(r.elapsed_ms),
      faces: r.faces }),
  };
  OUTCOME.card_reader = OUTCOME.id_reader;
  const testState = {};
  let lastBody = null;

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
      statusBadge(item.status), facts, testPart(item.kind));
  }

  function testPart(kind) {
    if (!TESTS[kind]) return null;
    const state = testState[kind] || {};
    const button = IV.el("button", { type: "button", class: "btn btn-small", dataset: { test: kind },
      disabled: state.running, onclick: () => runTest(kind) }, IV.t("devices.test_capture"));
    let outcome = null;
    if (state.running) {
      outcome = IV.el("p", { class: "test-outcome", role: "status" },
        IV.t(kind === "fingerprint" ? "devices.test_running" : "devices.test_running_" + (kind === "camera" ? "camera" : "card")));
    } else if (state.result) {
      outcome = IV.el("p", { class: "test-outcome test-pass", role: "status", dataset: { outcome: "ok" } },
        OUTCOME[kind](state.result));
    } else if (state.error) {
      outcome = IV.el("p", { class: "test-outcome test-fail", role: "alert", dataset: { outcome: "error" } },
        IV.errorText(state.error));
    }
    return IV.el("div", { class: "device-test" }, button, outcome);
  }

  async function runTest(kind) {
    testState[kind] = { running: true };
    render();
    try {
      testState[kind] = { result: await IV.api("POST", TESTS[kind]) };
    } catch (err) {
      testState[kind] = { error: err };
    }
    render();
  }

  function cards(containerId, items, emptyKey) {
    const box = document.getElementById(containerId);
    box.replaceChildren(...(items.length ? items.map(card) : [IV.el("p", { class: "muted" }, IV.t(emptyKey))]));
  }

  async function refresh() {
    try {
      const response = await fetch("/healthz", { headers: { Accept: "application/json" }, cache: "no-store" });
      lastBody = await response.json(); // 503 still carries the body naming what is down
      IV.clearError(document.getElementById("page-error"));
    } catch (err) {
      IV.pageError({ code: "network_error" });
      return;
    }
    render();
  }

  function render() {
    const body = lastBody;
    if (!body) return;
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
