/* The stage-check result component: a big, unambiguous ACCEPT (green, tick), REJECT (red, cross) or RETRY (amber,
 * circular arrow) banner with the reasons, the per-factor scores, and the enrolment photo beside the live frame.
 * Colour is never the only signal: each decision also has its own word and symbol.
 *
 *   IV.renderResult(container, verification, images?)
 *     verification: {id, decision: "accept"|"reject"|"retry", reasons: [{code, params, message}...],
 *                    factors: {name: value|{...}}}
 *     images (optional): {enrolment: url, live: url} — shown when the API provides them. */
(function () {
  "use strict";
  const IV = window.IV;
  const SYMBOL = { accept: "✓", reject: "✗", retry: "↻" };
  /* no "source": a device path means nothing to the nurse (the inspector's record keeps it) */
  const DETAIL_KEYS = ["score", "threshold", "quality", "passed", "decision", "liveness", "finger"];

  const NO_SCORE = ["not_captured", "not_answered", "unavailable", "quality_failed", "bad", "invalid", "mismatch"];

  function factorValue(value) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(3);
    if (typeof value === "boolean") return IV.t(value ? "common.yes" : "common.no");
    if (typeof value === "string") return IV.label("factor_value", value);
    return JSON.stringify(value);
  }

  /* A factor that produced no score (not captured, no photo on the card, quality refused …) says so in words:
   * "score — · passed No" beside a green ACCEPT would make the nurse doubt a correct decision. */
  function statusCell(name, value) {
    const words = [IV.label(name === "document" ? "document_status" : "factor_status", value.status)];
    if (value.required === false) words.push(IV.t("result.not_required"));
    return words.join(" · ");
  }

  function factorRows(factors) {
    const rows = [];
    for (const [name, value] of Object.entries(factors || {})) {
      const cells = [];
      if (value && typeof value === "object" && !Array.isArray(value) && NO_SCORE.includes(value.status)) {
        cells.push(statusCell(name, value));
      } else if (value && typeof value === "object" && !Array.isArray(value)) {
        for (const key of DETAIL_KEYS) {
          if (!(key in value)) continue;
          /* nested measurements (e.g. the face quality gate's dozen figures) belong to the inspector's record,
           * not to the nurse's result: shown here they would push the screen wider than the workstation */
          if (value[key] !== null && typeof value[key] === "object") continue;
          const shown = key === "finger" ? IV.label("finger", value[key]) : factorValue(value[key]);
          cells.push(IV.label("factor_field", key) + " " + shown);
        }
        if (!cells.length) cells.push(typeof value.status === "string" ? statusCell(name, value) : JSON.stringify(value));
      } else {
        cells.push(factorValue(value));
      }
      rows.push(IV.el("tr", { dataset: { factor: name } },
        IV.el("th", { scope: "row" }, IV.label("factor", name)),
        IV.el("td", {}, cells.join(" · "))));
    }
    return rows;
  }

  function photo(kind, url) {
    const caption = IV.t("result.photo_" + kind);
    const body = url
      ? IV.el("img", { src: url, alt: caption, class: "result-photo" })
      : IV.el("div", { class: "result-photo placeholder", role: "img", "aria-label": caption },
        IV.t("result.photo_unavailable"));
    return IV.el("figure", { class: "result-figure", dataset: { photo: kind } }, body, IV.el("figcaption", {}, caption));
  }

  function renderResult(container, verification, images) {
    const decision = ["accept", "reject", "retry"].includes(verification.decision) ? verification.decision : "retry";
    const reasons = Array.isArray(verification.reasons) ? verification.reasons : [];
    const box = IV.el("article", { class: "result result-" + decision, dataset: { decision: decision },
      "aria-labelledby": "result-word" });
    box.append(IV.el("div", { class: "result-banner" },
      IV.el("span", { class: "result-symbol", "aria-hidden": "true" }, SYMBOL[decision]),
      IV.el("span", { class: "result-word", id: "result-word" }, IV.t("decision_banner." + decision))));
    box.append(IV.el("p", { class: "result-summary" }, IV.t("result.summary_" + decision)));
    const details = IV.el("div", {});
    if (reasons.length) {
      details.append(IV.el("h3", {}, IV.t("result.reasons")));
      details.append(IV.el("ul", { class: "result-reasons" },
        reasons.map((r) => IV.el("li", { dataset: { reason: IV.reasonCode(r) } }, IV.reason(r)))));
    }
    const rows = factorRows(verification.factors);
    if (rows.length) {
      details.append(IV.el("table", { class: "data factors" },
        IV.el("caption", {}, IV.t("result.factors")), IV.el("tbody", {}, rows)));
    }
    /* the enrolment photo beside the live frame, the reasons and scores beside them */
    box.append(IV.el("div", { class: "result-body" },
      IV.el("div", { class: "result-photos" },
        photo("enrolment", images && images.enrolment), photo("live", images && images.live)),
      details));
    if (verification.id) {
      box.append(IV.el("p", { class: "result-id muted" },
        IV.tNodes("result.reference", { id: IV.el("span", { class: "mono" }, verification.id) })));
    }
    container.replaceChildren(box);
    return box;
  }

  /* A small inline badge for tables. */
  function decisionBadge(decision) {
    const known = ["accept", "reject", "retry"].includes(decision);
    return IV.el("span", { class: "badge badge-" + (known ? decision : "unknown"), dataset: { decision: decision } },
      (known ? SYMBOL[decision] + " " : "") + IV.label("decision", decision));
  }

  IV.renderResult = renderResult;
  IV.decisionBadge = decisionBadge;
})();
