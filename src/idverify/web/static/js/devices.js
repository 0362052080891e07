/* Devices and health (it_admin): polls /healthz every few seconds and shows each device and subsystem. The health
 * endpoint names device kinds and states only, never patient data. Each line shows as labelled fields in the page's
 * language: the detail's code (detail_code, detail_args) as a sentence, unset values left out, and only keys the
 * catalogue names. Each device has a test (POST /api/v1/devices/{id_reader,card_reader,fingerprint,camera}/test)
 * that reports type, size, quality, faces in view and timing — never an image or whose card was read. */
(function () {
  "use strict";
  const IV = window.IV;
  const INTERVAL_MS = 5000;
  /* Test captures per device kind and the path that runs them; each tests the device it names and no other (the
   * PC/SC reader's test never answers with the GA 467's card). Results survive the periodic re-render. */
  const TESTS = { fingerprint: "/devices/fingerprint/test", id_reader: "/devices/id_reader/test",
    card_reader: "/devices/card_reader/test", camera: "/devices/camera/test" };
  const DEVICE_KINDS = new Set(Object.keys(TESTS));
  /* what each test's success says, from its result fields */
  const OUTCOME = {
    fingerprint: (r) => IV.t("devices.test_ok", { width: r.width, height: r.height, ms: Math.round(r.elapsed_ms),
      quality: r.quality === null || r.quality === undefined ? "—" : r.quality }),
    id_reader: (r) => IV.t("devices.test_card_ok", { type: IV.label("document_type", r.document_type),
      ms: Math.round(r.elapsed_ms), checks: IV.t(r.checks && r.checks.checksum ? "devices.checks_ok" : "devices.checks_failed") }),
    card_reader: (r) => IV.t(r.card_present ? "devices.test_pcsc_card" : "devices.test_pcsc_empty",
      { reader: r.reader, ms: Math.round(r.elapsed_ms) }),
    camera: (r) => IV.t("devices.test_camera_ok", { width: r.width, height: r.height, ms: Math.round(r.elapsed_ms),
      faces: r.faces }),
  };
  /* keys of a health line that are not shown as fields (they are the heading, the badge, the detail sentence) */
  const META = new Set(["kind", "name", "status", "detail", "detail_code", "detail_args"]);
  const TIME_FIELD = /(_at|^last_success)$/;
  /* fields shown first, in this order (what is stored now before what the last check saw); others follow */
  const FIRST = ["tree_size", "checkpoint_size", "checkpoint_at", "failed", "retrying", "last_failure_at"];
  const rank = (key) => (FIRST.includes(key) ? FIRST.indexOf(key) : FIRST.length);
  const testState = {};
  let lastBody = null;

  function statusBadge(status) {
    const cls = status === "ok" ? "badge-ok" : status === "degraded" || status === "warning" ? "badge-warn" : "badge-off";
    return IV.el("span", { class: "badge " + cls, dataset: { status: status || "unknown" } },
      IV.label("health", status || "unknown"));
  }

  /* "<prefix>.<code>" from the first catalogue that has it, or null: a screen never shows a raw key */
  function known(code, ...prefixes) {
    for (const prefix of prefixes) if (IV.has(prefix + "." + code)) return prefix + "." + code;
    return null;
  }

  function kindLabel(kind) {
    const key = known(kind, "device_kind", "devices.kind");
    return key ? IV.t(key) : IV.t("devices.kind.other");
  }

  /* The detail as a sentence in the page's language: its code's text with its values, else an error code's text,
   * else nothing (the daemon's technical wording then shows as a labelled field). */
  function detailKey(item) {
    return item.detail_code ? known(item.detail_code, "devices.detail", "error") : null;
  }

  function fieldValue(key, value) {
    if (typeof value === "boolean") return IV.t(value ? "common.yes" : "common.no");
    if (typeof value === "number") return value.toLocaleString(IV.locale);
    if (TIME_FIELD.test(key)) return IV.fmtDateTime(value);
    if (key === "scope") {
      const scope = known(String(value).replace(/\s+/g, "_"), "devices.scope");
      return scope ? IV.t(scope) : String(value);
    }
    if (key === "checkpoints") return IV.t("devices.checkpoints_withheld");
    return String(value);
  }

  /* Labelled fields: only values that are set (never "null") and only keys the catalogue can name. */
  function facts(item) {
    const list = IV.el("dl", { class: "facts" });
    const add = (label, value, attrs) => list.append(IV.el("dt", {}, label), IV.el("dd", attrs || {}, value));
    if (DEVICE_KINDS.has(item.kind) && item.name && item.name !== "none") {
      add(IV.t("devices.field.device_name"), item.name, { class: "mono" });
    }
    const key = detailKey(item);
    if (key) add(IV.t("health_field.detail"), IV.t(key, item.detail_args || {}), { dataset: { field: "detail" } });
    const entries = Object.entries(item).sort(([a], [b]) => rank(a) - rank(b));
    for (const [key, value] of entries) {
      if (META.has(key) || value === null || value === undefined || value === "" || typeof value === "object") continue;
      const label = known(key, "health_field", "devices.field");
      if (label) add(IV.t(label), fieldValue(key, value), { dataset: { field: key } });
    }
    /* the daemon's technical wording, when no sentence says it or when it names what an error code cannot (a port,
     * a timeout): a value for IT to quote, not a label */
    if (item.detail && (!key || key.startsWith("error."))) {
      add(IV.t("devices.field.technical"), String(item.detail), { class: "mono", dataset: { field: "technical" } });
    }
    return list;
  }

  function card(item) {
    return IV.el("div", { class: "card", dataset: { kind: item.kind || "", status: item.status || "unknown" } },
      IV.el("h3", {}, kindLabel(item.kind)), statusBadge(item.status), facts(item), testPart(item.kind));
  }

  function testPart(kind) {
    if (!TESTS[kind]) return null;
    const state = testState[kind] || {};
    const button = IV.el("button", { type: "button", class: "btn btn-small", dataset: { test: kind },
      disabled: state.running, onclick: () => runTest(kind) }, IV.t("devices.test_capture"));
    let outcome = null;
    if (state.running) {
      outcome = IV.el("p", { class: "test-outcome", role: "status" },
        IV.t(kind === "fingerprint" ? "devices.test_running" : kind === "card_reader" ? "devices.test_running_pcsc"
          : "devices.test_running_" + (kind === "camera" ? "camera" : "card")));
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
      db.backend ? " " : "", db.backend ? IV.el("span", { class: "mono" }, db.backend) : "");  /* a product name */
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
