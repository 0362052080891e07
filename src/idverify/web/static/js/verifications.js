/* Verification list (inspector: the whole clinic; nurse: this workstation — the API decides the scope). Each row
 * opens a readable record: decision, each factor's score against its threshold with the model version that
 * scored it, the policy, the document checks, the devices and, for inspectors, the ledger proof of the record
 * (GET /audit/verifications/{id}/proof), whose inclusion path this page checks again against the signed root.
 * Filters and the page offset live in the page URL (ids and codes only, never names), so a reload, the back
 * button or a bookmark shows the same list. */
(function () {
  "use strict";
  const IV = window.IV;
  const PAGE_SIZE = 25;
  const DATE = /^\d{4}-\d{2}-\d{2}$/;

  function localMidnight(date, addDays) {
    const [y, m, d] = date.split("-").map(Number);
    return new Date(y, m - 1, d + (addDays || 0)).toISOString();
  }

  /* The API query for the page URL's filters; invalid values are dropped rather than sent. */
  function apiQuery(params) {
    const q = new URLSearchParams();
    const stage = params.get("stage");
    if (stage && /^[a-z_]{1,32}$/.test(stage)) q.set("stage", stage);
    const decision = params.get("decision");
    if (["accept", "reject", "retry"].includes(decision)) q.set("decision", decision);
    const since = params.get("since");
    if (since && DATE.test(since)) q.set("since", localMidnight(since));
    const until = params.get("until");
    if (until && DATE.test(until)) q.set("until", localMidnight(until, 1)); // the whole "until" day counts
    q.set("offset", String(offset(params)));
    q.set("limit", String(PAGE_SIZE));
    return q;
  }

  function offset(params) {
    const n = Number.parseInt(params.get("offset") || "0", 10);
    return Number.isFinite(n) && n > 0 ? n : 0;
  }

  function pageLink(params, newOffset) {
    const next = new URLSearchParams(params);
    if (newOffset > 0) next.set("offset", String(newOffset));
    else next.delete("offset");
    const qs = next.toString();
    return window.location.pathname + (qs ? "?" + qs : "");
  }

  /* --- the verification record: readable sections, never a JSON dump; an absent value is "—", never "null" --- */
  const DASH = "—";
  const isObj = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
  const num = (x, digits) => (typeof x === "number" ? x.toFixed(digits === undefined ? 3 : digits) : DASH);
  const yesNo = (x) => (typeof x === "boolean" ? IV.t(x ? "common.yes" : "common.no") : DASH);

  function known(code, ...prefixes) {
    for (const prefix of prefixes) if (code !== undefined && code !== null && IV.has(prefix + "." + code)) {
      return IV.t(prefix + "." + code);
    }
    return null;
  }

  function facts(pairs) {
    const list = IV.el("dl", { class: "facts" });
    for (const [label, value, attrs] of pairs) list.append(IV.el("dt", {}, label), IV.el("dd", attrs || {}, value));
    return list;
  }

  function section(key, ...content) {
    return IV.el("section", { class: "record-section", dataset: { section: key } },
      IV.el("h3", {}, IV.t("inspector.record." + key)), ...content);
  }

  function factorStatus(status) {
    if (status === "ok") return IV.t("inspector.record.ok");
    return known(status, "factor_status") || (status ? String(status) : DASH);
  }

  function passedCell(passed) {
    if (typeof passed !== "boolean") return DASH;
    return IV.el("span", { class: passed ? "proof-ok" : "proof-bad" },
      (passed ? "✓ " : "✗ ") + IV.t(passed ? "inspector.record.passed" : "inspector.record.failed"));
  }

  function liveCell(live) {
    if (typeof live !== "boolean") return DASH;
    return IV.t(live ? "inspector.record.live" : "inspector.record.not_live");
  }

  /* Biometric factors: score against the threshold it was judged at, and what judged it. */
  function factorsTable(factors) {
    const rows = Object.entries(factors || {}).filter(([name, f]) => name !== "document" && isObj(f));
    if (!rows.length) return IV.el("p", { class: "muted" }, IV.t("inspector.record.no_factors"));
    const head = ["factor", "required", "status", "score", "threshold", "result", "liveness", "target_fmr",
      "model_version"].map((k) => IV.el("th", { scope: "col" }, IV.t("inspector.record." + k)));
    return IV.el("div", { class: "table-wrap" }, IV.el("table", { class: "data factors-table" },
      IV.el("thead", {}, IV.el("tr", {}, ...head)),
      IV.el("tbody", {}, ...rows.map(([name, f]) => IV.el("tr", { dataset: { factor: name } },
        IV.el("th", { scope: "row" }, known(name, "factor") || name),
        IV.el("td", {}, yesNo(f.required)),
        IV.el("td", {}, factorStatus(f.status)),
        IV.el("td", { class: "num", dataset: { cell: "score" } }, num(f.score)),
        IV.el("td", { class: "num", dataset: { cell: "threshold" } }, num(f.threshold)),
        IV.el("td", { dataset: { cell: "result" } }, passedCell(f.passed)),
        IV.el("td", {}, liveCell(f.live)),
        IV.el("td", { class: "num" }, typeof f.target_fmr === "number" ? f.target_fmr.toExponential(0) : DASH),
        IV.el("td", { class: "mono", dataset: { cell: "model_version" } }, f.model_version ? String(f.model_version)
          : DASH))))));
  }

  function documentChecks(doc) {
    if (!isObj(doc) || !doc.document_type) {
      const status = isObj(doc) && doc.status ? known(doc.status, "document_status", "factor_status") : null;
      return IV.el("p", { class: "muted" }, status || IV.t("inspector.record.no_document"));
    }
    const checks = isObj(doc.checks) ? doc.checks : {};
    const check = (x) => (typeof x === "boolean" ? IV.t(x ? "inspector.record.ok" : "inspector.record.not_ok") : DASH);
    const passive = checks.passive_auth === "passed" ? IV.t("inspector.record.ok")
      : checks.passive_auth === "failed" ? IV.t("inspector.record.not_ok") : IV.t("inspector.record.not_checked");
    return facts([
      [IV.t("inspector.record.document_type"), known(doc.document_type, "document_type") || String(doc.document_type)],
      [IV.t("inspector.record.status"), known(doc.status, "document_status", "factor_status") || DASH],
      [IV.t("inspector.record.checksum"), check(checks.checksum), { dataset: { check: "checksum" } }],
      [IV.t("inspector.record.expired"), yesNo(checks.expired)],
      [IV.t("inspector.record.passive_auth"), passive],
      [IV.t("inspector.record.source"), known(doc.source, "device_short") || (doc.source ? String(doc.source) : DASH)],
    ]);
  }

  function policyFacts(policy, factors) {
    const bio = isObj(policy.biometric) ? policy.biometric : {};
    const pairs = [[IV.t("inspector.record.fused"), num(policy.fused_score) + " / " + num(bio.fused_min)]];
    if (typeof policy.document_required === "boolean") {
      pairs.push([IV.t("inspector.record.document_required"), yesNo(policy.document_required)]);
    }
    if ("active_liveness" in policy) {
      pairs.push([IV.t("inspector.record.active_liveness"), yesNo(Boolean(policy.active_liveness))]);
    }
    /* factors the patient's consent took out of this check; records before codes hold English sentences */
    const adapted = Array.isArray(policy.adapted_for) ? policy.adapted_for : [];
    if (adapted.length) {
      pairs.push([IV.t("inspector.record.not_used"), adapted.map((a) => (isObj(a)
        ? IV.t("inspector.record.not_used_item", { factor: known(a.factor, "factor") || String(a.factor),
          why: known(a.why, "inspector.record.not_used_why") || String(a.why) })
        : String(a))).join("；"), { dataset: { fact: "not_used" } }]);
    }
    const sources = Object.entries(factors || {}).filter(([, f]) => isObj(f) && f.threshold_source)
      .map(([name, f]) => (known(name, "factor") || name) + ": " + f.threshold_source);
    if (sources.length) pairs.push([IV.t("inspector.record.threshold_source"), sources.join("; "), { class: "mono" }]);
    return facts(pairs);
  }

  function deviceFacts(devices) {
    const pairs = Object.entries(devices || {}).filter(([, id]) => id !== null && id !== undefined && id !== "")
      .map(([what, id]) => [known(what, "factor", "device_short") || what, String(id), { class: "mono" }]);
    return pairs.length ? facts(pairs) : IV.el("p", { class: "muted" }, IV.t("inspector.record.none"));
  }

  /* --- the ledger proof, checked again here: RFC 9162 root from the leaf and its audit path ------------------- */
  const b64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

  async function nodeHash(left, right) {
    const buf = new Uint8Array(1 + left.length + right.length);
    buf[0] = 1;
    buf.set(left, 1);
    buf.set(right, 1 + left.length);
    return new Uint8Array(await window.crypto.subtle.digest("SHA-256", buf));
  }

  async function rootFromInclusion(index, size, leaf, path) {
    let fn = index;
    let sn = size - 1;
    let r = leaf;
    for (const p of path) {
      if (sn === 0) return null;
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        r = await nodeHash(r, p);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 ? r : null;
  }

  /* "browser" (checked here), "daemon" (no WebCrypto on a non-secure page: the daemon's check), or "failed" */
  async function checkProof(proof) {
    if (!proof.verified) return "failed";
    if (!(window.crypto && window.crypto.subtle)) return "daemon";
    const root = await rootFromInclusion(proof.index, proof.tree_size, b64(proof.leaf_hash), proof.hashes.map(b64));
    const signed = b64(proof.checkpoint.root_hash);
    return root && root.length === signed.length && root.every((b, i) => b === signed[i]) ? "browser" : "failed";
  }

  async function loadProof(box, id) {
    box.replaceChildren(IV.el("p", { class: "muted" }, IV.t("inspector.proof.loading")));
    let proof;
    try {
      proof = await IV.api("GET", "/audit/verifications/" + encodeURIComponent(id) + "/proof");
    } catch (err) {
      box.replaceChildren(IV.el("p", { class: "error-text" }, IV.errorText(err)));
      return;
    }
    box.dataset.status = proof.status;
    if (proof.status === "missing") {
      box.replaceChildren(IV.el("p", { class: "proof-bad", dataset: { outcome: "missing" } },
        IV.t("inspector.proof.missing")));
      return;
    }
    const pairs = [[IV.t("inspector.proof.index"), "#" + proof.index, { class: "mono" }],
      [IV.t("inspector.proof.recorded_at"), IV.fmtDateTime(proof.recorded_at)],
      [IV.t("inspector.proof.leaf_hash"), proof.leaf_hash, { class: "mono" }]];
    if (proof.status === "pending") {
      box.replaceChildren(facts(pairs), IV.el("p", { class: "muted", dataset: { outcome: "pending" } },
        IV.t("inspector.proof.pending")));
      return;
    }
    const cp = proof.checkpoint;
    pairs.push([IV.t("inspector.proof.checkpoint"), IV.t("inspector.proof.checkpoint_value",
      { size: cp.tree_size, time: IV.fmtDateTime(cp.signed_at) })],
    [IV.t("inspector.proof.root"), cp.root_hash, { class: "mono", dataset: { field: "root" } }],
    [IV.t("inspector.proof.key_id"), cp.key_id, { class: "mono" }],
    [IV.t("inspector.proof.path"), IV.t("inspector.proof.path_value", { count: proof.hashes.length })]);
    const outcome = await checkProof(proof);
    const ok = outcome !== "failed";
    box.replaceChildren(facts(pairs), IV.el("p", { class: ok ? "proof-ok" : "proof-bad", dataset: { outcome: outcome } },
      (ok ? "✓ " : "✗ ") + IV.t(outcome === "browser" ? "inspector.proof.verified_browser"
        : outcome === "daemon" ? "inspector.proof.verified_daemon" : "inspector.proof.failed")));
  }

  function detailRow(v, columns) {
    const summary = facts([
      [IV.t("inspector.record.decision"), known(v.decision, "decision") || v.decision, { dataset: { field: "decision" } }],
      [IV.t("col.stage"), known(v.stage, "stage") || v.stage],
      [IV.t("col.verification_id"), v.id, { class: "mono" }],
      [IV.t("col.cycle"), v.cycle_id, { class: "mono" }],
      [IV.t("col.patient"), v.patient_id, { class: "mono" }],
      [IV.t("col.staff"), v.staff_id || DASH, { class: "mono" }],
      [IV.t("col.workstation"), v.workstation_id],
      [IV.t("col.started_at"), IV.fmtDateTime(v.started_at)],
      [IV.t("col.decided_at"), IV.fmtDateTime(v.decided_at)],
      [IV.t("col.overridden"), IV.t(v.overridden ? "common.yes" : "common.no")]]);
    const inspector = document.body.dataset.role === "inspector";
    const proofBox = IV.el("div", { class: "proof", dataset: { proofFor: v.id } });
    const sections = [
      section("summary", summary),
      section("factors", factorsTable(v.factors)),
      section("policy", policyFacts(v.policy || {}, v.factors)),
      section("document", documentChecks((v.factors || {}).document)),
      section("devices", deviceFacts(v.devices)),
    ];
    if (inspector) {
      sections.push(IV.el("section", { class: "record-section", dataset: { section: "proof" } },
        IV.el("h3", {}, IV.t("inspector.proof.title")), proofBox));
    }
    const row = IV.el("tr", { class: "detail-row", hidden: true, dataset: { detailFor: v.id } },
      IV.el("td", { colspan: String(columns) }, IV.el("div", { class: "record" }, ...sections)));
    row.loadProof = inspector ? () => loadProof(proofBox, v.id) : null;
    return row;
  }

  function row(v) {
    const detail = detailRow(v, 7);
    const toggle = IV.el("button", { type: "button", class: "btn btn-small", "aria-expanded": "false",
      dataset: { toggleFor: v.id } }, IV.t("col.details"));
    toggle.addEventListener("click", () => {
      detail.hidden = !detail.hidden;
      if (!detail.hidden && detail.loadProof) {
        detail.loadProof();
        detail.loadProof = null; /* once per page view */
      }
      toggle.setAttribute("aria-expanded", detail.hidden ? "false" : "true");
    });
    const reasons = (v.reasons || []).map((r) => IV.reason(r)).join(IV.t("reason.list_separator")) || "—";
    const main = IV.el("tr", { dataset: { verificationId: v.id } },
      IV.el("td", {}, IV.fmtDateTime(v.decided_at)),
      IV.el("td", {}, IV.label("stage", v.stage)),
      IV.el("td", {}, IV.decisionBadge(v.decision), v.overridden ? IV.el("span", { class: "badge badge-override" },
        IV.t("col.overridden")) : null),
      IV.el("td", {}, reasons),
      IV.el("td", {}, v.workstation_id),
      IV.el("td", { class: "mono" }, IV.shortId(v.cycle_id)),
      IV.el("td", {}, toggle));
    return [main, detail];
  }

  /* "1–25 of 30" and the links that exist: no "next" on the last page (nor when the page came back short); a page
   * past the end says so and links to the last page instead of showing "0–25 of 11". */
  function pager(params, page) {
    const range = document.getElementById("pager-range");
    const prev = document.getElementById("pager-prev");
    const next = document.getElementById("pager-next");
    const end = page.offset + page.items.length;
    next.hidden = !page.items.length || end >= page.total || page.items.length < PAGE_SIZE;
    next.href = pageLink(params, end);
    if (!page.items.length && page.offset > 0 && page.total > 0) {
      const last = Math.floor((page.total - 1) / PAGE_SIZE) * PAGE_SIZE;
      prev.hidden = true;
      range.replaceChildren(IV.el("span", { class: "pager-note", dataset: { pastEnd: "true" } },
        IV.t("inspector.past_end", { total: page.total })), " ",
      IV.el("a", { id: "pager-last", class: "btn", href: pageLink(params, last) }, IV.t("inspector.last_page")));
      return;
    }
    prev.hidden = page.offset <= 0;
    prev.href = pageLink(params, Math.max(0, page.offset - PAGE_SIZE));
    range.textContent = page.items.length
      ? IV.t("pager.range", { start: page.offset + 1, end: end, total: page.total }) : "";
  }

  async function load() {
    const params = new URLSearchParams(window.location.search);
    const tbody = document.querySelector("#verifications tbody");
    const summary = document.getElementById("list-summary");
    summary.textContent = IV.t("common.loading");
    try {
      const page = await IV.api("GET", "/verifications?" + apiQuery(params).toString());
      tbody.replaceChildren(...page.items.flatMap(row));
      if (!page.items.length) {
        tbody.replaceChildren(IV.el("tr", {}, IV.el("td", { colspan: "7", class: "muted" }, IV.t("list.empty"))));
      }
      summary.textContent = IV.t("list.total", { total: page.total });
      pager(params, page);
    } catch (err) {
      summary.textContent = "";
      IV.pageError(err);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("filters");
    form.addEventListener("submit", (event) => {
      /* Send only the filters that are set, so the URL stays short and free of empty parameters. */
      event.preventDefault();
      const q = new URLSearchParams();
      for (const [name, value] of new FormData(form).entries()) if (value) q.set(name, String(value));
      const qs = q.toString();
      window.location.assign(window.location.pathname + (qs ? "?" + qs : ""));
    });
    load();
  });
})();
