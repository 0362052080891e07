/* Alerts list (regional_inspector): filter by status and kind; each row opens the alert's evidence. */
(function () {
  "use strict";
  const IV = window.IV;

  async function load() {
    const form = document.getElementById("alert-filters");
    const params = new URLSearchParams();
    for (const name of ["status", "kind"]) {
      if (form.elements[name].value) params.set(name, form.elements[name].value);
    }
    const body = document.getElementById("alerts-body");
    try {
      const [data, clinics] = await Promise.all([IV.api("GET", "/alerts?" + params), IV.api("GET", "/clinics")]);
      const names = Object.fromEntries(clinics.items.map((c) => [c.clinic_id, c.name]));
      document.getElementById("alerts-summary").textContent = IV.t("alerts.count", { total: data.total });
      body.replaceChildren(...(data.items.length ? data.items.map((a) => IV.el("tr", { dataset: { kind: a.kind, status: a.status } },
        IV.el("td", {}, IV.el("a", { href: "/alerts/" + a.id }, "#" + a.id)),
        IV.el("td", {}, IV.el("a", { href: "/alerts/" + a.id }, IV.label("alert_kind", a.kind))),
        IV.el("td", {}, IV.el("span", { class: "badge " + (a.status === "open" ? "badge-reject" : a.status === "closed" ? "badge-ok" : "badge-warn") },
          IV.label("alert_status", a.status))),
        IV.el("td", {}, names[a.clinic_id] || "—"),
        IV.el("td", { class: "mono" }, a.summary.person || "—"),
        IV.el("td", {}, IV.fmtDateTime(a.created_at, true)))) :
        [IV.el("tr", {}, IV.el("td", { colspan: 6 }, IV.t("alerts.empty")))]));
    } catch (err) {
      IV.pageError(err);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("alert-filters").addEventListener("submit", (event) => {
      event.preventDefault();
      load();
    });
    load();
  });
})();
