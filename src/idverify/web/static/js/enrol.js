/* Enrolment wizard (nurse): identity document → separate biometric consent → face and fingers on this
 * workstation's devices → the daemon's duplicate check (1:N) and outcome.
 *
 * The document comes first only because consent is recorded against a registered patient; nothing biometric is
 * captured before consent. The identity is shown on this screen and sent in JSON bodies only, never in a URL.
 * API: POST /patients/from-card (the daemon reads this workstation's card reader) or POST /patients (typed) →
 * {patient, created};
 * POST /patients/{id}/consent; POST /patients/{id}/enrolment {use_devices: true, finger_positions} → {status, result}.
 * The daemon takes the fingers from the sensor in the order of finger_positions; the capture step names them from
 * the same list, in that order, so the patient is asked for the finger the daemon records under that name. */
(function () {
  "use strict";
  const IV = window.IV;
  const STEPS = ["document", "consent", "capture", "result"];
  const STATUS = { complete: "accept", retry: "retry", rejected: "reject", duplicate_suspected: "reject" };
  const FINGERS = ["right_index", "left_index"]; /* captured in this order; the daemon needs two different ones */
  const DOCUMENT_REFUSED = new Set(["document_checksum_failed", "document_signature_invalid",
    "document_number_unreadable", "document_incomplete"]);
  let patient = null;

  function show(step) {
    for (const name of STEPS) {
      document.getElementById("step-" + name).hidden = name !== step;
      const item = document.querySelector(`#wizard-steps li[data-step="${name}"]`);
      if (name === step) item.setAttribute("aria-current", "step");
      else item.removeAttribute("aria-current");
    }
    const heading = document.querySelector("#step-" + step + " h2");
    if (heading) heading.scrollIntoView({ block: "nearest" });
  }

  /* path: "/patients" with the typed identity, or "/patients/from-card" (the daemon reads the card and refuses
   * one that fails its checksum or chip signature before anyone is registered) */
  async function register(path, body, errorBox, button) {
    await IV.busy(button, async () => {
      try {
        const registered = await IV.api("POST", path, body);
        const identity = registered.patient.identity || {};
        /* enrolling again replaces what is on file: only after the nurse says so */
        const onFile = registered.patient.enrolled || [];
        if (!registered.created && onFile.length) {
          const again = await IV.confirmAction(IV.t("enrol.already_enrolled_confirm", { name: identity.name || "—",
            modalities: onFile.map((m) => IV.label("modality", m)).join(", ") }), IV.t("enrol.reenrol_ok"));
          if (!again) {
            const note = document.getElementById("document-note");
            note.textContent = IV.t("enrol.reenrol_cancelled");
            note.hidden = false;
            return;
          }
        }
        document.getElementById("document-note").hidden = true;
        patient = registered.patient;
        document.getElementById("patient-banner").textContent = IV.t("enrol.patient_banner", {
          name: identity.name || "—", number: identity.document_number || "—",
          state: IV.t(registered.created ? "enrol.patient_new" : "enrol.patient_known") });
        show("consent");
      } catch (err) {
        /* a refused card: the catalogue's sentence says what it means and what to do, in the nurse's language */
        IV.showError(errorBox, DOCUMENT_REFUSED.has(err.code) ? { code: err.code } : err);
      }
    });
  }

  /* What the nurse needs from the outcome, one line per step; the full record stays behind "technical details". */
  function outcomeFacts(status, result) {
    const facts = [];
    if (result.face) facts.push(["face", IV.t("enrol.fact_face", { samples: result.face.samples })]);
    if (result.face && typeof result.face.pad_score === "number") {
      facts.push(["liveness", IV.t("enrol.fact_liveness", { score: result.face.pad_score.toFixed(2) })]);
    }
    if (result.fingers) {
      facts.push(["fingers", IV.t("enrol.fact_fingers", {
        fingers: (result.fingers.accepted || []).map((p) => IV.label("finger", p)).join(", ") || "—" })]);
    }
    if (status === "complete") facts.push(["duplicates", IV.t("enrol.fact_no_duplicates")]);
    if (status === "duplicate_suspected") {
      facts.push(["duplicates", IV.t("enrol.fact_duplicates", { count: (result.duplicates || []).length })]);
    }
    if (result.reference_photo) facts.push(["photo", IV.t("enrol.fact_photo")]);
    for (const r of [...(result.reasons || []), ...(result.prompts || [])]) facts.push(["problem", IV.reason(r)]);
    return facts;
  }

  /* The sentence under the outcome says what is actually on file (a refused modality is not) and, for a refusal
   * because of the card, that it is the card — not the person's features — that failed. */
  function outcomeHelp(status, result) {
    const modalities = result.modalities || [];
    if (status === "complete" && !modalities.includes("face")) return IV.t("enrol_status_help.complete_fingers");
    if (status === "complete" && !modalities.includes("fingerprint")) return IV.t("enrol_status_help.complete_face");
    if (status === "rejected" && ["invalid", "mismatch", "bad"].includes((result.document || {}).status)) {
      return IV.t("enrol_status_help.rejected_document");
    }
    return IV.t("enrol_status_help." + status);
  }

  function renderOutcome(enrolment) {
    const decision = STATUS[enrolment.status] || "retry";
    const result = enrolment.result || {};
    const box = IV.el("article", { class: "result result-" + decision, dataset: { status: enrolment.status } },
      IV.el("div", { class: "result-banner" }, IV.el("span", { class: "result-word" },
        IV.t("enrol_status." + enrolment.status))),
      IV.el("p", { class: "result-summary" }, outcomeHelp(enrolment.status, result)),
      IV.el("ul", { class: "enrol-facts" }, outcomeFacts(enrolment.status, result).map(([kind, text]) =>
        IV.el("li", { dataset: { fact: kind } }, text))),
      IV.el("details", { class: "enrol-details" }, IV.el("summary", {}, IV.t("enrol.details")),
        IV.el("pre", { class: "json" }, JSON.stringify(result, null, 2))));
    document.getElementById("enrol-result").replaceChildren(box);
  }

  /* "Place the right index finger on the sensor", "Then place the left index finger on the sensor" */
  function renderFingerPrompts() {
    const list = document.getElementById("capture-prompts");
    list.querySelectorAll("li[data-step='finger']").forEach((item) => item.remove());
    FINGERS.forEach((finger, i) => list.append(IV.el("li", { dataset: { step: "finger", finger: finger } },
      IV.t(i === 0 ? "prompt.finger" : "prompt.finger_then", { finger: IV.label("finger", finger) }))));
  }

  /* The capture step asks only for what the patient agreed to: with the face refused nothing mentions the camera
   * (the daemon does not film her either), with fingerprints refused no finger is asked for. */
  function prepareCapture(accepted) {
    const face = accepted.includes("face");
    const fingers = accepted.includes("fingerprint");
    const what = face && fingers ? "both" : face ? "face" : "fingers";
    document.querySelectorAll("#capture-prompts li[data-step='face']").forEach((item) => { item.hidden = !face; });
    document.querySelectorAll("#capture-prompts li[data-step='finger']").forEach((item) => { item.hidden = !fingers; });
    const title = IV.t("enrol.step_capture_" + what);
    document.getElementById("capture-heading").textContent = title;
    document.querySelector("#wizard-steps li[data-step='capture']").textContent = title;
    document.getElementById("capture-start").textContent = IV.t("enrol.capture_start_" + what);
    const note = document.getElementById("capture-refused");
    note.hidden = face && fingers;
    note.textContent = face && fingers ? "" : IV.t(face ? "enrol.fingers_refused_note" : "enrol.face_refused_note");
  }

  document.addEventListener("DOMContentLoaded", () => {
    renderFingerPrompts();
    const docError = document.getElementById("document-error");
    const readButton = document.getElementById("read-card");
    readButton.addEventListener("click", async () => {
      IV.clearError(docError);
      await register("/patients/from-card", undefined, docError, readButton);
    });
    const form = document.getElementById("patient-form");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      IV.clearError(docError);
      const body = {};
      for (const [name, value] of new FormData(form).entries()) if (String(value).trim()) body[name] = String(value).trim();
      await register("/patients", body, docError, document.getElementById("register"));
    });

    const consentForm = document.getElementById("consent-form");
    consentForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const box = document.getElementById("consent-error");
      IV.clearError(box);
      const accepted = [];
      const refused = [];
      const unanswered = [];
      for (const modality of ["face", "fingerprint", "document_photo"]) {
        const answer = consentForm.elements["m-" + modality].value;
        if (answer === "accept") accepted.push(modality);
        else if (answer === "refuse") refused.push(modality);
        else unanswered.push(modality);
      }
      consentForm.querySelectorAll(".consent-row").forEach((row) => {
        row.classList.toggle("consent-missing", unanswered.includes(row.dataset.modality));
      });
      if (unanswered.length) { /* no answer is taken for agreement: each kind of data is asked explicitly */
        IV.showError(box, { code: "consent_choice_missing" });
        consentForm.querySelector(`.consent-row[data-modality="${unanswered[0]}"] input`).focus();
        return;
      }
      if (!accepted.length) {
        IV.showError(box, { code: "consent_nothing_accepted" });
        return;
      }
      await IV.busy(document.getElementById("consent-submit"), async () => {
        try {
          await IV.api("POST", "/patients/" + encodeURIComponent(patient.id) + "/consent",
            { accepted: accepted, refused: refused, retention_days: Number(consentForm.elements.retention_days.value) });
          prepareCapture(accepted);
          show("capture");
        } catch (err) {
          IV.showError(box, err);
        }
      });
    });

    const start = document.getElementById("capture-start");
    start.addEventListener("click", async () => {
      const box = document.getElementById("capture-error");
      IV.clearError(box);
      document.getElementById("capture-progress").hidden = false;
      await IV.busy(start, async () => {
        try {
          renderOutcome(await IV.api("POST", "/patients/" + encodeURIComponent(patient.id) + "/enrolment",
            { use_devices: true, finger_positions: FINGERS }));
          show("result");
        } catch (err) {
          IV.showError(box, err);
        } finally {
          document.getElementById("capture-progress").hidden = true;
        }
      });
    });
  });
})();
