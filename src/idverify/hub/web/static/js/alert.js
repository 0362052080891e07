/* One alert (regional_inspector): what was found, the evidence — each clinic's ledger entry with a button that
 * fetches its inclusion proof in a checkpoint the witness cosigned, or the refused signed submission — and the
 * decision: acknowledge, or close with a note. */
(function () {
  "use strict";
  const IV = window.IV;
  const alertId = document.getElementById("alert-heading").dataset.alertId;

  /* Summary fields that hold identifiers an inspector copies verbatim (shown in monospace, never translated) */
  const IDENTIFIERS = new Set(["person", "staff_id", "root_hash", "cosigned_root", "key_id", "accepted", "key_ids",
    "region_key_ids"]);

  function factValue(key, value) {
    if (value === null || value === undefined || value === "") return IV.el("dd", {}, "—");
    if (key === "reason") return IV.el("dd", {}, IV.label("alert_reason", value));
    const text = Array.isArray(value) ? value.join("、") : typeof value === "object" ? JSON.stringify(value) : String(value);
    return IV.el("dd", IDENTIFIERS.has(key) ? { class: "mono" } : {}, text);
  }

  function fact(key, value) {
    return [IV.el("dt", {}, IV.label("alert_field", key)), factValue(key, value)];
  }

  async function showProof(item) {
    const panel = document.getElementById("proof-panel");
    const proof = await IV.api("GET", item.proof_path.replace(/^\/api\/v1/, ""));
    panel.hidden = false;
    document.getElementById("proof-verified").hidden = false;
    document.getElementById("proof-json").textContent = JSON.stringify(proof, null, 2);
  }

  function evidenceRow(item) {
    if (item.type === "entry") {
      return IV.el("tr", { dataset: { index: String(item.index) } },
        IV.el("td", {}, item.clinic_name || item.clinic_id, IV.el("br"), IV.el("span", { class: "muted mono" }, item.origin)),
        IV.el("td", {}, "#" + item.index),
        IV.el("td", {}, IV.label("event_type", item.event_type || item.what)),
        IV.el("td", {}, IV.fmtDateTime(item.recorded_at)),
        IV.el("td", {}, IV.el("button", { type: "button", class: "btn btn-small proof-button",
          onclick: () => showProof(item).catch(IV.pageError) }, IV.t("alert.show_proof"))));
    }
    if (item.type === "refusal") {
      return IV.el("tr", {},
        IV.el("td", {}, item.clinic_name || item.clinic_id),
        IV.el("td", { colspan: 4 }, IV.t("alert.refused_request", { size: item.tree_size, cosigned: item.cosigned_size }),
          IV.el("pre", { class: "json" }, item.request || "")));
    }
    return IV.el("tr", {}, IV.el("td", {}, item.clinic_name || item.clinic_id || "—"),
      IV.el("td", { colspan: 4 }, IV.label("evidence", item.type) + (item.month ? " " + item.month : "")
        + (item.staff_id ? " · " + IV.t("alert_field.staff_id") + " " : ""),
        item.staff_id ? IV.el("span", { class: "mono" }, item.staff_id) : ""));
  }

  async function load() {
    try {
      const a = await IV.api("GET", "/alerts/" + alertId);
      document.getElementById("alert-explain").textContent = IV.label("alert_explain", a.kind);
      const status = document.getElementById("alert-status");
      status.textContent = IV.label("alert_status", a.status);
      status.dataset.status = a.status;
      const facts = [...fact("kind", IV.label("alert_kind", a.kind)), ...fact("clinic", a.clinic_name || "—"),
        ...fact("created_at", IV.fmtDateTime(a.created_at))];
      for (const [k, v] of Object.entries(a.summary)) {
        facts.push(...fact(k, k === "clinics" && Array.isArray(v) ? v.map((c) => a.clinic_names[c] || c) : v));
      }
      if (a.note) facts.push(...fact("note", a.note));
      document.getElementById("alert-facts").replaceChildren(...facts);
      document.getElementById("evidence-body").replaceChildren(...a.evidence.map(evidenceRow));
      const closed = a.status === "closed";
      document.getElementById("ack-button").disabled = a.status !== "open";
      document.getElementById("close-button").disabled = closed;
      document.getElementById("status-note").disabled = closed;
    } catch (err) {
      IV.pageError(err);
    }
  }

  async function change(status, button) {
    const box = document.getElementById("status-error");
    IV.clearError(box);
    const note = document.getElementById("status-note").value.trim();
    let changed = false;
    await IV.busy(button, async () => {
      try {
        await IV.api("POST", "/alerts/" + alertId + "/status", { status: status, note: note || null });
        changed = true;
      } catch (err) {
        IV.showError(box, err);
      }
    });
    if (changed) {  /* after busy() has re-enabled the button: load() decides what the new status allows */
      document.getElementById("status-note").value = "";
      await load();
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("ack-button").addEventListener("click", (e) => change("acknowledged", e.currentTarget));
    document.getElementById("close-button").addEventListener("click", (e) => change("closed", e.currentTarget));
    load();
  });
})();
