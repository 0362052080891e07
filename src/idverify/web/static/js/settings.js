/* Clinic settings (it_admin): webhook endpoints (add — the signing secret is shown once —, list, disable), their
 * recent deliveries (counts by status, failures with the receiver's last answer, redeliver) and the
 * per-stage policy overrides, validated by the daemon before it stores them. Every change is audited by the API.
 *
 * The policy is edited in a table (a row per stage: document required; per factor required, target FMR, and
 * for the face passive liveness and the active challenge) that starts from the built-in defaults (#policy-defaults) and writes only what differs
 * from them into the overrides, keeping keys the table does not show (e.g. a stage's subject). The same overrides
 * are shown as JSON under "advanced"; either view updates the other, and the JSON is what PUT /settings/policy
 * receives, as before. */
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

  const DELIVERY_BADGE = { delivered: "badge-ok", pending: "badge-warn", sending: "badge-warn", failed: "badge-reject",
    cancelled: "badge-unknown" };

  function deliveryRow(d) {
    const canRedeliver = d.status === "failed" || d.status === "delivered";
    const action = canRedeliver
      ? IV.el("button", { type: "button", class: "btn btn-small", dataset: { action: "redeliver", deliveryId: d.id },
        onclick: (e) => redeliver(d, e.currentTarget) }, IV.t("settings.delivery_redeliver"))
      : null;
    const waiting = d.status === "pending" || d.status === "sending";
    return IV.el("tr", { dataset: { deliveryId: d.id, status: d.status } },
      IV.el("td", { class: "mono" }, d.event_type),
      IV.el("td", {}, IV.el("span", { class: "badge " + (DELIVERY_BADGE[d.status] || "badge-off") },
        IV.t("settings.delivery_status_" + d.status))),
      IV.el("td", {}, String(d.attempts)),
      IV.el("td", { class: "mono" }, d.last_status === null ? (d.attempts ? IV.t("settings.delivery_unreachable") : "—")
        : String(d.last_status)),
      IV.el("td", {}, waiting ? IV.fmtDateTime(d.next_attempt_at, true) : "—"),
      IV.el("td", {}, IV.fmtDateTime(d.created_at, true)),
      IV.el("td", {}, action));
  }

  async function loadDeliveries() {
    try {
      const page = await IV.api("GET", "/webhooks/deliveries?limit=20");
      const counts = page.counts || {};
      document.getElementById("deliveries-summary").textContent = IV.t("settings.deliveries_summary", {
        delivered: counts.delivered || 0, waiting: (counts.pending || 0) + (counts.sending || 0),
        failed: counts.failed || 0 });
      const tbody = document.querySelector("#deliveries-table tbody");
      tbody.replaceChildren(...page.deliveries.map(deliveryRow));
      if (!page.deliveries.length) {
        tbody.append(IV.el("tr", {}, IV.el("td", { colspan: "7", class: "muted" }, IV.t("list.empty"))));
      }
    } catch (err) {
      IV.pageError(err);
    }
  }

  async function redeliver(delivery, button) {
    await IV.busy(button, async () => {
      try {
        await IV.api("POST", "/webhooks/deliveries/" + encodeURIComponent(delivery.id) + "/redeliver");
        await loadDeliveries();
      } catch (err) {
        IV.pageError(err);
      }
    });
  }

  const POLICY_DEFAULTS = JSON.parse(document.getElementById("policy-defaults").textContent);

  function policyInputs() {
    return document.querySelectorAll("#policy-table tbody tr[data-stage] [data-field]");
  }

  /* active_liveness: a challenge kind or null (none); the other selects are numbers, the checkboxes booleans */
  const CHOICE_FIELDS = ["active_liveness"];

  function defaultOf(input) {
    if (!input.dataset.factor) return POLICY_DEFAULTS[input.dataset.field];
    const value = (POLICY_DEFAULTS.factors[input.dataset.factor] || {})[input.dataset.field];
    if (value !== undefined) return value;
    return CHOICE_FIELDS.includes(input.dataset.field) ? null : false;
  }

  function inputValue(input) {
    if (input.type === "checkbox") return input.checked;
    if (CHOICE_FIELDS.includes(input.dataset.field)) return input.value || null;
    return Number(input.value);
  }

  /* Show the effective policy (defaults + overrides) in the table. */
  function fillPolicyTable(overrides) {
    for (const input of policyInputs()) {
      const conf = overrides[input.closest("tr").dataset.stage] || {};
      const own = input.dataset.factor ? ((conf.factors || {})[input.dataset.factor] || {}) : conf;
      const value = own[input.dataset.field] !== undefined ? own[input.dataset.field] : defaultOf(input);
      if (input.type === "checkbox") input.checked = Boolean(value);
      else input.value = value === null ? "" : String(value);
    }
  }

  /* The overrides the table describes: ``base`` with every shown field set when it differs from the default and
   * removed when it equals it; empty objects dropped. */
  function policyFromTable(base) {
    const out = JSON.parse(JSON.stringify(base || {}));
    for (const input of policyInputs()) {
      const stage = input.closest("tr").dataset.stage;
      const conf = out[stage] || (out[stage] = {});
      let own = conf;
      if (input.dataset.factor) {
        conf.factors = conf.factors || {};
        own = conf.factors[input.dataset.factor] || (conf.factors[input.dataset.factor] = {});
      }
      const value = inputValue(input);
      if (value === defaultOf(input)) delete own[input.dataset.field];
      else own[input.dataset.field] = value;
    }
    for (const [stage, conf] of Object.entries(out)) {
      for (const [name, factor] of Object.entries(conf.factors || {})) if (!Object.keys(factor).length) delete conf.factors[name];
      if (conf.factors && !Object.keys(conf.factors).length) delete conf.factors;
      if (!Object.keys(conf).length) delete out[stage];
    }
    return out;
  }

  function showPolicy(overrides) {
    document.getElementById("policy-json").value = JSON.stringify(overrides, null, 2);
    fillPolicyTable(overrides);
  }

  function jsonPolicy() {
    try {
      const stages = JSON.parse(document.getElementById("policy-json").value || "{}");
      return stages && typeof stages === "object" && !Array.isArray(stages) ? stages : null;
    } catch (err) {
      return null;
    }
  }

  async function loadPolicy() {
    try {
      const policy = await IV.api("GET", "/settings/policy");
      showPolicy(policy.stages || {});
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
      const stages = jsonPolicy();
      if (!stages) {
        IV.showError(policyError, { code: "policy_not_json" });
        return;
      }
      await IV.busy(policyForm.querySelector("button[type=submit]"), async () => {
        try {
          const saved = await IV.api("PUT", "/settings/policy", { stages: stages });
          showPolicy(saved.stages || {});
          policyOk.textContent = IV.t("settings.policy_saved");
          policyOk.hidden = false;
        } catch (err) {
          IV.showError(policyError, err);
        }
      });
    });
    document.getElementById("policy-table").addEventListener("change", () => {
      policyOk.hidden = true;
      document.getElementById("policy-json").value = JSON.stringify(policyFromTable(jsonPolicy() || {}), null, 2);
    });
    document.getElementById("policy-json").addEventListener("input", () => {
      const stages = jsonPolicy();
      if (stages) fillPolicyTable(stages);
    });
    loadWebhooks();
    loadDeliveries();
    loadPolicy();
  });
})();
