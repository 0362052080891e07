/* idverify UI core: translations, the JSON API client (CSRF header, error envelope), safe DOM building,
 * error display, confirmation dialog, logout. Plain ES2020, no dependencies, no network beyond this origin.
 * Everything is exposed as window.IV for the page scripts. Text is only ever set with textContent. */
(function () {
  "use strict";

  const catalogue = JSON.parse(document.getElementById("iv-catalogue").textContent);
  const locale = document.documentElement.lang || "zh-CN";
  const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
  /* 401 codes that mean this browser's session is over (any other 401 is about credentials in a request body) */
  const SESSION_ENDED = new Set(["not_authenticated", "session_expired"]);

  function has(key) {
    return Object.prototype.hasOwnProperty.call(catalogue, key);
  }

  /* Translate a catalogue key; a missing key shows the key itself. */
  function t(key, values) {
    const text = has(key) ? catalogue[key] : key;
    return text.replace(PLACEHOLDER, (m, name) =>
      values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : m);
  }

  /* t() for a sentence with an element in it (an id in monospace): values that are DOM nodes stay nodes.
   * Returns the pieces, for el()'s children. */
  function tNodes(key, values) {
    const text = has(key) ? catalogue[key] : key;
    const pieces = [];
    let last = 0;
    for (const m of text.matchAll(PLACEHOLDER)) {
      pieces.push(text.slice(last, m.index));
      const value = values && Object.prototype.hasOwnProperty.call(values, m[1]) ? values[m[1]] : m[0];
      pieces.push(value instanceof Node ? value : String(value));
      last = m.index + m[0].length;
    }
    pieces.push(text.slice(last));
    return pieces.filter((p) => p !== "");
  }

  /* An identifier as the screens show it: shortened, in monospace (copied, not read; never translated) */
  function idSpan(id) {
    return el("span", { class: "mono" }, shortId(id));
  }

  /* Translate "<prefix>.<code>" when the catalogue knows it, else show the raw code (e.g. a new reason code). */
  function label(prefix, code) {
    return has(prefix + "." + code) ? t(prefix + "." + code) : String(code);
  }

  /* Parameters that name a catalogue entry (translated through "<prefix>.<value>"), as in biometrics/reasons.py */
  const TRANSLATED_PARAMS = { factor: "factor", stage: "stage", position: "finger", direction: "direction" };

  function paramWord(prefix, value) {
    for (const key of [prefix + "." + value, "reason.param." + prefix + "." + value]) {
      if (has(key)) return t(key);
    }
    return String(value).replace(/_/g, " ");
  }

  function number(value) {
    return typeof value === "number" && !Number.isInteger(value) ? String(Number(value.toFixed(3))) : String(value);
  }

  /* A decision reason {code, params} (or a bare code) in this page's language — the same rule as
   * idverify.biometrics.reasons.render: the label with its parameters, then ": cause", then the score beside its
   * threshold. A reason stored before reason codes (free text) is shown as it was recorded. */
  function reason(value) {
    const r = typeof value === "string" ? { code: value, params: {} } : value || {};
    const params = r.params || {};
    if (r.code === "legacy_text") return String(params.text || "");
    if (!has("reason." + r.code)) return typeof value === "string" ? value : String(r.message || r.code || "");
    const values = {};
    for (const [name, v] of Object.entries(params)) {
      if (name === "cause") continue;
      values[name] = TRANSLATED_PARAMS[name] ? paramWord(TRANSLATED_PARAMS[name], v) : number(v);
    }
    let text = t("reason." + r.code, values);
    if (params.cause) text = t("reason.with_cause", { reason: text, cause: reason(params.cause) });
    if (params.score !== undefined && params.threshold !== undefined) {
      text = t("reason.with_score", { reason: text, score: values.score, threshold: values.threshold });
    }
    return text;
  }

  /* The code of a reason object or bare code (for data-reason attributes and tests). */
  function reasonCode(value) {
    return typeof value === "string" ? value : (value && value.code) || "";
  }

  class ApiError extends Error {
    constructor(status, code, message, details, messageKey) {
      super(message);
      this.status = status;
      this.code = code;
      this.details = details;
      this.messageKey = messageKey;
    }
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function setCsrfToken(token) {
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) meta.content = token || "";
  }

  /* Call the JSON API under /api/v1. Resolves with the parsed body (null for 204); rejects with ApiError carrying
   * the envelope's code/message/details. A 401 outside the login form sends the user to /login. */
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && method !== "HEAD") {
      const token = csrfToken();
      if (token) headers["X-CSRF-Token"] = token;
    }
    let response;
    try {
      response = await fetch("/api/v1" + path, {
        method: method,
        headers: headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (e) {
      throw new ApiError(0, "network_error", t("error.network_error"), null);
    }
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (!response.ok) {
      const err = data && data.error ? data.error : { code: "http_error", message: response.statusText };
      /* only the caller's own session ending sends her to the login page; credentials typed into a form (the
       * second nurse's on an override, the login form's) are answered in that form, the page is kept */
      if (response.status === 401 && (!(data && data.error) || SESSION_ENDED.has(err.code))) {
        window.location.assign("/login");
      }
      throw new ApiError(response.status, err.code || "http_error", err.message || "", err.details, err.message_key);
    }
    return data;
  }

  /* Build an element: el("td", {class: "x", dataset: {id: "1"}}, "text", childNode, ...). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "dataset") Object.assign(node.dataset, value);
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /* The catalogue key of an error's person-facing text: the envelope's message_key, else "error.<code>";
   * null when this page's catalogue has neither. */
  function errorKey(err) {
    for (const key of [err.messageKey || err.message_key, "error." + (err.code || "unknown")]) {
      if (key && has(key)) return key;
    }
    return null;
  }

  /* A person-facing sentence for an API error: the catalogue's text for it, else the server's message. */
  function errorText(err) {
    const key = errorKey(err);
    if (key) return t(key);
    return err.message || t("error.unknown");
  }

  /* One validation problem in this page's language: its pydantic type's text (with the schema's limits), else —
   * on an English page — the daemon's own English words, else a generic "invalid value". */
  function validationText(d) {
    const key = "reason.validation." + (d.type || "");
    if (has(key)) return t(key, d.ctx || {});
    return locale === "en" && d.msg ? String(d.msg) : t("reason.validation.invalid");
  }

  /* The visible label of the form control a validation error names (its last path element is the control's
   * name): the page already says in its own language what the field is called. */
  function fieldLabel(box, path) {
    const last = path.length ? String(path[path.length - 1]) : "";
    if (!last) return "";
    const scope = box.closest("form") || document;  /* some error boxes sit above their form */
    const controls = scope.querySelectorAll("[name=\"" + CSS.escape(last) + "\"]");
    if (controls.length !== 1) return "";
    const control = controls[0];
    const label = (control.id && document.querySelector("label[for=\"" + CSS.escape(control.id) + "\"]")) || control.closest("label");
    return label ? label.textContent.trim() : "";
  }

  function showError(box, err) {
    box.replaceChildren();
    box.append(el("p", { class: "error-text" }, errorText(err)));
    if (Array.isArray(err.details) && err.details.length) {
      const list = el("ul", { class: "error-details" });
      for (const d of err.details) {
        const path = Array.isArray(d.loc) ? d.loc.filter((p) => p !== "body") : [];
        const field = path.join(".");
        const name = field && has("field." + field) ? t("field." + field) : fieldLabel(box, path) || (locale === "en" ? field : "");
        const text = validationText(d);
        list.append(el("li", {}, name ? name + ": " + text : text));
      }
      box.append(list);
    } else if (err.message && err.message !== errorText(err) && (locale === "en" || !errorKey(err))) {
      /* the daemon's own wording (English, never personal data) says exactly what was wrong; a Chinese screen
       * shows it only when the catalogue has no text for the code */
      box.append(el("p", { class: "error-message" }, err.message));
    }
    /* the code is for IT (the error catalogue, the logs): shown as an identifier, apart from the sentence */
    box.append(el("p", { class: "error-code" }, tNodes("error.code", { code: el("code", { class: "mono" }, err.code || "unknown") })));
    box.hidden = false;
    box.dataset.code = err.code || "unknown";
  }

  function clearError(box) {
    box.hidden = true;
    box.replaceChildren();
    delete box.dataset.code;
  }

  /* Report an error in the page-level box (for failures not tied to one form). */
  function pageError(err) {
    const box = document.getElementById("page-error");
    if (box) showError(box, err);
  }

  /* Local date and time; "short" drops the seconds (admin tables), audit views keep them. */
  function fmtDateTime(iso, short) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    const opts = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false };
    if (!short) opts.second = "2-digit";
    return d.toLocaleString(locale, opts);
  }

  function shortId(id) {
    return id ? String(id).slice(0, 8) : "—";
  }

  /* Ask for confirmation in the page's <dialog>; resolves true when the user confirms. */
  function confirmAction(message, okLabel) {
    const dialog = document.getElementById("confirm-dialog");
    const ok = document.getElementById("confirm-ok");
    const cancel = document.getElementById("confirm-cancel");
    document.getElementById("confirm-message").textContent = message;
    ok.textContent = okLabel || t("common.confirm");
    return new Promise((resolve) => {
      function finish(answer) {
        ok.removeEventListener("click", onOk);
        cancel.removeEventListener("click", onCancel);
        dialog.removeEventListener("cancel", onCancel);
        if (dialog.open) dialog.close();
        resolve(answer);
      }
      function onOk() { finish(true); }
      function onCancel() { finish(false); }
      ok.addEventListener("click", onOk);
      cancel.addEventListener("click", onCancel);
      dialog.addEventListener("cancel", onCancel);
      dialog.showModal();
      cancel.focus();
    });
  }

  /* Disable a button while a request runs so a double tap cannot submit twice. */
  async function busy(button, work) {
    if (button) button.disabled = true;
    try {
      return await work();
    } finally {
      if (button) button.disabled = false;
    }
  }

  function wireLogout() {
    const button = document.getElementById("logout");
    if (!button) return;
    button.addEventListener("click", async () => {
      try {
        await api("POST", "/auth/logout");
      } catch (err) {
        /* the session may already be gone; the login page is the right place either way */
      }
      window.location.assign("/login");
    });
  }

  window.IV = { t, tNodes, label, reason, reasonCode, has, api, ApiError, el, errorText, showError, clearError, pageError,
    fmtDateTime, shortId, idSpan, confirmAction, busy, csrfToken, setCsrfToken, locale };

  document.addEventListener("DOMContentLoaded", wireLogout);
})();
