/* Clinic settings (it_admin): webhook endpoints (add — the signing secret is shown once —, list, disable) and the
 * per-stage policy overrides, edited as JSON and validated by the daemon before it stores them. Every change is
 * audited by the API. */
(function () {
  "use strict";
  const IV = window.IV;

  function webhookRow(hook) {
    const action = hook.active
      ? IV.el("button", { type: "button", class: "btn btn-small btn-danger", dataset: { action: "disable", webhookId: hook.id },
        onclick: (e) => disable(hook, e.currentTarget) }, IV.t("staff.disable"))
      : null;
    return IV.el("tr", { dataset: { webhookId: hook.id, active: String(hook.active) } },
      IV.el("td", { class: "mono url-cell" }, hook.url),
      IV.el("td", { class: "mono" }, (hook.events || []).join(", ")),
      IV.el("td", {}, IV.el("span", { class: "badge " + (hook.active ? "badge-ok" : "badge-off") },
        IV.t(hook.active ? "staff.active" : "staff.disabled"))),
      IV.el("td", {}, IV.fmtDateTime(hook.created_at, true)),
      IV.el("td", {}, action));
  }

  async function loadWebhooks() {
    try {
      const hooks = await IV.api("GET", "/webhooks");
      const tbody = document.querySelector("#webhooks-table tbody");
      tbody.replaceChildren(...hooks.map(webhookRow));
      if (!hooks.length) tbody.append(IV.el("tr", {}, IV.el("td", { colspan: "5", class: "muted" }, IV.t("list.empty"))));
    } catch (err) {
      IV.pageError(err);
    }
  }

  async function disable(hook, button) {
    const ok = await IV.confirmAction(IV.t("settings.webhook_confirm_disable", { url: hook.url }), IV.t("staff.disable"));
    if (!ok) return;
    await IV.busy(button, async () => {
      try {
        await IV.api("DELETE", "/webhooks/" + encodeURIComponent(hook.id));
        await loadWebhooks();
      } catch (err) {
        IV.pageError(err);
      }
    });
  }

  async function loadPolicy() {
    try {
      const policy = await IV.api("GET", "/settings/policy");
      document.getElementById("policy-json").value = JSON.stringify(policy.stages || {}, null, 2);
    } catch (err) {
      IV.pageError(err);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("webhook-form");
    const box = document.getElementById("webhook-form-error");
    document.getElementById("webhook-secret-dismiss").addEventListener("click", () => {
      document.getElementById("webhook-secret").textContent = "";
      document.getElementById("webhook-issued").hidden = true;
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      IV.clearError(box);
      await IV.busy(form.querySelector("button[type=submit]"), async () => {
        try {
          const created = await IV.api("POST", "/webhooks", { url: form.elements.url.value.trim() });
          document.getElementById("webhook-secret").textContent = created.secret;
          document.getElementById("webhook-issued").hidden = false;
          form.reset();
          await loadWebhooks();
        } catch (err) {
          IV.showError(box, err);
        }
      });
    });

    const policyForm = document.getElementById("policy-form");
    const policyError = document.getElementById("policy-error");
    const policyOk = document.getElementById("policy-ok");
    policyForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      IV.clearError(policyError);
      policyOk.hidden = true;
      let stages;
      try {
        stages = JSON.parse(document.getElementById("policy-json").value || "{}");
        if (!stages || typeof stages !== "object" || Array.isArray(stages)) throw new Error("not an object");
      } catch (err) {
        IV.showError(policyError, { code: "policy_not_json" });
        return;
      }
      await IV.busy(policyForm.querySelector("button[type=submit]"), async () => {
        try {
          const saved = await IV.api("PUT", "/settings/policy", { stages: stages });
          document.getElementById("policy-json").value = JSON.stringify(saved.stages || {}, null, 2);
          policyOk.textContent = IV.t("settings.policy_saved");
          policyOk.hidden = false;
        } catch (err) {
          IV.showError(policyError, err);
        }
      });
    });
    loadWebhooks();
    loadPolicy();
  });
})();
