/* Clinics table (regional_inspector, hub_admin): every registered clinic log with the size and time the witness
 * last cosigned, what the hub holds of its feed, the backlog, integrity and open alerts; a row opens the clinic's
 * witness history and refused submissions. Sizes and times only. */
(function () {
  "use strict";
  const IV = window.IV;

  function badge(ok, text) {
    return IV.el("span", { class: "badge " + (ok ? "badge-ok" : "badge-reject") }, text);
  }

  async function showDetail(clinicId) {
    const d = await IV.api("GET", "/clinics/" + encodeURIComponent(clinicId));
    document.getElementById("clinic-detail").hidden = false;
    document.getElementById("clinic-detail-heading").textContent = d.name;
    document.getElementById("clinic-facts").replaceChildren(
      IV.el("dt", {}, IV.t("clinics.origin")), IV.el("dd", { class: "mono" }, d.origin),
      IV.el("dt", {}, IV.t("clinics.verifier_key")), IV.el("dd", { class: "mono" }, d.verifier_key),
      IV.el("dt", {}, IV.t("clinics.registered_at")), IV.el("dd", {}, IV.fmtDateTime(d.registered_at)));
    document.getElementById("cosignatures-body").replaceChildren(...(d.cosignatures.length ? d.cosignatures.map((c) =>
      IV.el("tr", {}, IV.el("td", {}, c.tree_size), IV.el("td", {}, c.old_size),
        IV.el("td", { class: "mono" }, c.root_hash), IV.el("td", {}, IV.fmtDateTime(c.at)))) :
      [IV.el("tr", {}, IV.el("td", { colspan: 4 }, IV.t("clinics.none")))]));
    document.getElementById("refused-body").replaceChildren(...(d.refused.length ? d.refused.map((r) =>
      IV.el("tr", { dataset: { reason: r.reason } }, IV.el("td", {}, IV.fmtDateTime(r.at)),
        IV.el("td", {}, IV.label("refusal", r.reason)), IV.el("td", {}, r.tree_size),
        IV.el("td", {}, r.cosigned_size))) :
      [IV.el("tr", {}, IV.el("td", { colspan: 4 }, IV.t("clinics.none")))]));
  }

  async function load() {
    const body = document.getElementById("clinics-body");
    try {
      const data = await IV.api("GET", "/clinics");
      if (!data.items.length) {
        body.replaceChildren(IV.el("tr", {}, IV.el("td", { colspan: 9 }, IV.t("clinics.empty"))));
        return;
      }
      body.replaceChildren(...data.items.map((c) => IV.el("tr", { dataset: { clinicId: c.clinic_id } },
        IV.el("th", { scope: "row" }, c.name),
        IV.el("td", { class: "mono" }, c.origin),
        IV.el("td", {}, c.cosigned_size),
        IV.el("td", {}, IV.fmtDateTime(c.cosigned_at, true)),
        IV.el("td", {}, c.feed_size),
        IV.el("td", {}, c.backlog),
        IV.el("td", {}, badge(c.integrity === "consistent", IV.label("integrity", c.integrity))),
        IV.el("td", {}, c.open_alerts),
        IV.el("td", {}, IV.el("button", { type: "button", class: "btn btn-small",
          onclick: () => showDetail(c.clinic_id).catch(IV.pageError) }, IV.t("clinics.details"))))));
    } catch (err) {
      IV.pageError(err);
    }
  }

  document.addEventListener("DOMContentLoaded", load);
})();
