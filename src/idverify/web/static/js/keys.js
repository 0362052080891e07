/* API keys (it_admin): list, issue, rotate, revoke. A new or rotated secret is shown once, in the page only. */
(function () {
  "use strict";
  const IV = window.IV;

  function keyStatus(key) {
    if (key.revoked_at) return ["revoked", "badge-off"];
    if (key.expires_at && new Date(key.expires_at) <= new Date()) return ["expired", "badge-off"];
    return ["active", "badge-ok"];
  }

  function showSecret(issued) {
    const box = document.getElementById("issued");
    document.getElementById("issued-token").textContent = issued.token;
    box.dataset.keyId = issued.key.id;
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  function hideSecret() {
    const box = document.getElementById("issued");
    document.getElementById("issued-token").textContent = "";
    box.hidden = true;
  }

  function row(key) {
    const [status, cls] = keyStatus(key);
    const actions = IV.el("div", { class: "row-actions" });
    if (status === "active") {
      actions.append(
        IV.el("button", { type: "button", class: "btn btn-small", dataset: { action: "rotate", keyId: key.id },
          onclick: (e) => rotate(key, e.currentTarget) }, IV.t("keys.rotate")),
        IV.el("button", { type: "button", class: "btn btn-small btn-danger", dataset: { action: "revoke", keyId: key.id },
          onclick: (e) => revoke(key, e.currentTarget) }, IV.t("keys.revoke")));
    }
    return IV.el("tr", { dataset: { keyId: key.id, status: status } },
      IV.el("td", { translate: "no" }, key.name),  /* typed by a person: never translated */
      IV.el("td", { class: "mono" }, key.prefix),
      IV.el("td", {}, IV.label("role", key.role)),
      IV.el("td", {}, key.workstation_id || IV.t("keys.any_workstation")),
      IV.el("td", {}, IV.fmtDateTime(key.expires_at, true)),
      IV.el("td", {}, IV.fmtDateTime(key.last_used_at, true)),
      IV.el("td", {}, IV.el("span", { class: "badge " + cls }, IV.t("keys.status_" + status))),
      IV.el("td", {}, actions));
  }

  async function load() {
    try {
      const keys = await IV.api("GET", "/api-keys");
      document.querySelector("#keys-table tbody").replaceChildren(...keys.map(row));
    } catch (err) {
      IV.pageError(err);
    }
  }

  async function rotate(key, button) {
    const ok = await IV.confirmAction(IV.t("keys.confirm_rotate", { name: key.name }), IV.t("keys.rotate"));
    if (!ok) return;
    await IV.busy(button, async () => {
      try {
        showSecret(await IV.api("POST", "/api-keys/" + encodeURIComponent(key.id) + "/rotate"));
        await load();
      } catch (err) {
        IV.pageError(err);
      }
    });
  }

  async function revoke(key, button) {
    const ok = await IV.confirmAction(IV.t("keys.confirm_revoke", { name: key.name }), IV.t("keys.revoke"));
    if (!ok) return;
    await IV.busy(button, async () => {
      try {
        await IV.api("DELETE", "/api-keys/" + encodeURIComponent(key.id));
        await load();
      } catch (err) {
        IV.pageError(err);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("key-form");
    const box = document.getElementById("key-form-error");
    document.getElementById("issued-dismiss").addEventListener("click", hideSecret);
    document.getElementById("issued-copy").addEventListener("click", async (e) => {
      const token = document.getElementById("issued-token").textContent;
      try {
        await navigator.clipboard.writeText(token);
        e.currentTarget.textContent = IV.t("keys.copied");
      } catch (err) {
        /* clipboard access may be refused (plain http); the token stays visible for manual copying */
        window.getSelection().selectAllChildren(document.getElementById("issued-token"));
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      IV.clearError(box);
      const body = { name: form.elements.name.value.trim(), role: form.elements.role.value };
      const ws = form.elements.workstation_id.value.trim();
      if (ws) body.workstation_id = ws;
      const days = form.elements.expires_in_days.value.trim();
      if (days) body.expires_in_days = Number(days);
      await IV.busy(form.querySelector("button[type=submit]"), async () => {
        try {
          showSecret(await IV.api("POST", "/api-keys", body));
          form.reset();
          await load();
        } catch (err) {
          IV.showError(box, err);
        }
      });
    });
    load();
  });
})();
