/* The workstation's devices as the nurse needs them before she starts: one line per device (card reader,
 * fingerprint sensor, camera), "ready" or what is wrong in plain words and what to do about it. Polls
 * GET /api/v1/devices every few seconds while the tab is visible, so a pulled cable shows before "start" and
 * a replugged one clears by itself. Device names, ports and exception texts stay on IT's page.
 *
 *   IV.devices.refresh()  — ask again now (the demo panel calls it after unplugging a device). */
(function () {
  "use strict";
  const IV = window.IV;
  const EVERY_MS = 5000;
  const NEEDED = ["id_reader", "fingerprint", "camera"]; /* a nurse's check uses these; a PC/SC reader when set up */
  let timer = null;

  function shown(devices) {
    const byKind = new Map(devices.map((d) => [d.kind, d]));
    const kinds = NEEDED.filter((k) => byKind.has(k));
    const pcsc = byKind.get("card_reader");
    if (pcsc && pcsc.name !== "none") kinds.splice(1, 0, "card_reader");
    return kinds.map((k) => byKind.get(k));
  }

  function line(device) {
    const ok = device.status === "ok";
    const state = ok ? "ok" : device.name === "none" ? "not_configured" : device.status;
    return IV.el("li", { class: "device-state device-" + (ok ? "ok" : "bad"), dataset: { kind: device.kind,
      status: state } },
    IV.el("span", { class: "device-symbol", "aria-hidden": "true" }, ok ? "✓" : "✗"),
    IV.el("strong", {}, IV.label("device_short", device.kind)), " ",
    IV.el("span", { class: "device-word" }, IV.t("device_state." + state)),
    ok ? null : IV.el("span", { class: "device-todo" }, " " + IV.t("device_todo." + state)));
  }

  async function refresh() {
    const list = document.getElementById("device-strip");
    if (!list) return;
    window.clearTimeout(timer);
    try {
      const body = await IV.api("GET", "/devices");
      const devices = shown(body.devices || []);
      list.replaceChildren(...(devices.length ? devices.map(line)
        : [IV.el("li", { class: "device-state device-bad", dataset: { status: "none" } }, IV.t("device_state.none"))]));
      list.dataset.ready = devices.length && devices.every((d) => d.status === "ok") ? "true" : "false";
    } catch (err) {
      list.replaceChildren(IV.el("li", { class: "device-state device-bad", dataset: { status: "unknown" } },
        IV.t("device_state.unknown")));
      list.dataset.ready = "false";
    }
    if (!document.hidden) timer = window.setTimeout(refresh, EVERY_MS);
  }

  IV.devices = { refresh };
  document.addEventListener("visibilitychange", () => (document.hidden ? window.clearTimeout(timer) : refresh()));
  document.addEventListener("DOMContentLoaded", refresh);
})();
