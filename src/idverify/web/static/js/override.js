/* Override of a REJECT or RETRY result: a reason code (and a note for "other") plus a second clinical staff member
 * who confirms with their own username and password on this screen. The API records both people and flags the
 * check in every report; the witness's password goes in the JSON body only and is cleared from the form at once.
 *
 *   IV.attachOverride(resultBox, verification)  — adds the "Override…" button and form under a result. */
(function () {
  "use strict";
  const IV = window.IV;
  const REASONS = ["injury", "worn_fingerprints", "device_failure", "medical_condition", "face_covering_required",
    "document_unavailable", "other"];
  /* the API's answers about the second nurse's credentials, said about her (not about the logged-in nurse) */
  const WITNESS_ERRORS = { invalid_credentials: "witness_invalid_credentials", account_locked: "witness_locked" };

  function field(id, labelKey, input, hintKey) {
    return [IV.el("label", { for: id }, IV.t(labelKey)), input,
      hintKey ? IV.el("p", { class: "hint" }, IV.t(hintKey)) : null];
  }

  function attachOverride(box, verification) {
    if (!["reject", "retry"].includes(verification.decision) || !verification.id) return;
    const open = IV.el("button", { type: "button", class: "btn btn-block override-open", id: "override-open" },
      IV.t("override.open"));
    const error = IV.el("div", { class: "error-box", role: "alert", id: "override-error", hidden: true });
    const reason = IV.el("select", { id: "override-reason", name: "reason_code", required: true },
      /* nothing pre-chosen: the reason goes into every report, so the nurse picks it herself */
      IV.el("option", { value: "", selected: true }, IV.t("override.reason_choose")),
      REASONS.map((code) => IV.el("option", { value: code }, IV.t("override_reason." + code))));
    const note = IV.el("textarea", { id: "override-note", name: "note", maxlength: "500", rows: "2" });
    const witness = IV.el("input", { id: "override-witness", name: "witness_username", autocomplete: "off",
      autocapitalize: "none", spellcheck: "false", required: true, maxlength: "64" });
    const password = IV.el("input", { id: "override-witness-password", name: "witness_password", type: "password",
      autocomplete: "off", required: true, maxlength: "256" });
    const submit = IV.el("button", { type: "submit", class: "btn btn-danger btn-block" }, IV.t("override.submit"));
    const cancel = IV.el("button", { type: "button", class: "btn btn-quiet btn-block" }, IV.t("common.cancel"));
    const form = IV.el("form", { class: "form override-form", id: "override-form", hidden: true, novalidate: true },
      IV.el("h3", {}, IV.t("override.heading")), IV.el("p", { class: "muted" }, IV.t("override.explain")), error,
      field("override-reason", "override.reason", reason),
      field("override-note", "override.note", note, "override.note_hint"),
      field("override-witness", "override.witness", witness, "override.witness_hint"),
      field("override-witness-password", "override.witness_password", password),
      IV.el("div", { class: "override-actions" }, cancel, submit));

    open.addEventListener("click", () => {
      form.hidden = false;
      open.hidden = true;
      reason.focus();
    });
    cancel.addEventListener("click", () => {
      form.hidden = true;
      open.hidden = false;
      password.value = "";
      IV.clearError(error);
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      IV.clearError(error);
      const body = { reason_code: reason.value, witness_username: witness.value.trim(),
        witness_password: password.value };
      if (note.value.trim()) body.note = note.value.trim();
      if (!body.reason_code) {
        IV.showError(error, { code: "override_reason_required" });
        reason.focus();
        return;
      }
      if (!body.witness_username || !body.witness_password) {
        IV.showError(error, { code: "witness_required" });
        return;
      }
      await IV.busy(submit, async () => {
        try {
          const record = await IV.api("POST", "/verifications/" + encodeURIComponent(verification.id) + "/override",
            body);
          form.remove();
          box.dataset.overridden = "true";
          box.append(IV.el("div", { class: "override-done", role: "status", id: "override-done" },
            IV.el("strong", {}, IV.t("override.done")), " ",
            IV.t("override.done_detail", { reason: IV.t("override_reason." + record.reason_code) })));
        } catch (err) {
          /* the REJECT and this form stay: she reads what was wrong and types the password again */
          IV.showError(error, WITNESS_ERRORS[err.code] ? { code: WITNESS_ERRORS[err.code] } : err);
          if (err.code in WITNESS_ERRORS) password.focus();
        } finally {
          password.value = "";
        }
      });
    });
    box.append(open, form);
  }

  IV.attachOverride = attachOverride;
})();
