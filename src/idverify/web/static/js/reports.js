/* Monthly report (inspector): the month's figures from GET /api/v1/reports/monthly drawn as stacked bars per stage,
 * the commonest reject reasons, and the CSV/PDF downloads of the same month (the PDF carries the charts and the
 * ledger checkpoint root). The month defaults to the current one. */
(function () {
  "use strict";
  const IV = window.IV;
  const MONTH = /^\d{4}-\d{2}$/;

  function currentMonth() {
    const now = new Date();
    return now.getFullYear() + "-" + String(now.getMonth() + 1).padStart(2, "0");
  }

  function bar(stage, counts, max) {
    const track = IV.el("div", { class: "bar-track" });
    for (const decision of ["accept", "reject", "retry"]) {
      const n = counts[decision] || 0;
      if (!n) continue;
      const seg = IV.el("span", { class: "bar-seg bar-" + decision, title: IV.label("decision", decision) + ": " + n,
        dataset: { decision: decision, count: String(n) } }, String(n));
      seg.style.width = (100 * n / max).toFixed(2) + "%";  /* CSSOM, allowed by the style-src policy */
      track.append(seg);
    }
    return IV.el("div", { class: "bar-row", dataset: { stage: stage, total: String(counts.total || 0) } },
      IV.el("span", { class: "bar-label" }, IV.label("stage", stage)), track,
      IV.el("span", { class: "bar-total" }, String(counts.total || 0)));
  }

  function render(report) {
    const checks = report.checks || {};
    const byStage = checks.by_stage || {};
    const max = Math.max(1, ...Object.values(byStage).map((c) => c.total || 0));
    const chart = document.getElementById("stage-chart");
    const rows = Object.entries(byStage).map(([stage, counts]) => bar(stage, counts, max));
    chart.replaceChildren(...(rows.length ? rows : [IV.el("p", { class: "muted" }, IV.t("list.empty"))]));
    const reasons = document.getElementById("reject-reasons");
    reasons.replaceChildren(...(report.reject_reasons || []).map((r) =>
      IV.el("li", { dataset: { reason: r.reason } }, IV.reason(r) + " — " + r.count)));
    const set = (id, value) => { document.getElementById(id).textContent = String(value); };
    const byDecision = checks.by_decision || {};
    set("sum-checks", checks.total || 0);
    set("sum-accept", byDecision.accept || 0);
    set("sum-reject", byDecision.reject || 0);
    set("sum-retry", byDecision.retry || 0);
    set("sum-overridden", checks.overridden || 0);
    set("sum-enrolments", (report.enrolments || {}).total || 0);
    set("sum-patients", (report.enrolments || {}).patients_enrolled || 0);
    /* the zone by its name in the reader's language where the catalogue has one ("北京时间"), else its IANA id */
    const zone = IV.has("reports.timezone." + report.timezone) ? IV.t("reports.timezone." + report.timezone)
      : report.timezone;
    set("sum-period", report.month + " (" + zone + ")");
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const params = new URLSearchParams(window.location.search);
    const month = MONTH.test(params.get("month") || "") ? params.get("month") : currentMonth();
    document.getElementById("r-month").value = month;
    const q = "month=" + encodeURIComponent(month);
    document.getElementById("report-csv").href =
      "/api/v1/reports/monthly.csv?" + q + "&lang=" + encodeURIComponent(IV.locale);
    document.getElementById("report-pdf").href =
      "/api/v1/reports/monthly.pdf?" + q + "&lang=" + encodeURIComponent(IV.locale);
    try {
      render(await IV.api("GET", "/reports/monthly?" + q));
    } catch (err) {
      IV.pageError(err);
    }
  });
})();
