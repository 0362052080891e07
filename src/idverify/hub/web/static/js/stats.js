/* Monthly statistics (regional_inspector): each clinic's stage checks, rejects, overrides and their rates next to
 * the region's, and the exports of that month. */
(function () {
  "use strict";
  const IV = window.IV;

  function pct(value) {
    return value === null || value === undefined ? "—" : (100 * value).toFixed(2) + " %";
  }

  function row(c, region) {
    return IV.el("tr", region ? { class: "detail-row", dataset: { region: "1" } } : { dataset: { clinicId: c.clinic_id } },
      IV.el("th", { scope: "row" }, region ? IV.t("stats.region", { clinics: c.clinics }) : c.name),
      IV.el("td", {}, c.checks), IV.el("td", {}, c.rejects), IV.el("td", {}, pct(c.reject_rate)),
      IV.el("td", {}, c.overrides), IV.el("td", {}, pct(c.override_rate)), IV.el("td", {}, c.enrolments),
      IV.el("td", {}, c.registrations), IV.el("td", {}, c.alerts === undefined ? "—" : c.alerts));
  }

  async function load(month) {
    try {
      const data = await IV.api("GET", "/stats/monthly" + (month ? "?month=" + encodeURIComponent(month) : ""));
      document.getElementById("stats-month").value = data.month;
      document.getElementById("stats-body").replaceChildren(...data.clinics.map((c) => row(c, false)), row(data.region, true));
      document.getElementById("export-monthly-csv").href = "/api/v1/exports/monthly?format=csv&month=" + data.month;
      document.getElementById("export-monthly-pdf").href = "/api/v1/exports/monthly?format=pdf&month=" + data.month
        + "&lang=" + encodeURIComponent(IV.locale);
    } catch (err) {
      IV.pageError(err);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("stats-form").addEventListener("submit", (event) => {
      event.preventDefault();
      load(document.getElementById("stats-month").value);
    });
    load(null);
  });
})();
