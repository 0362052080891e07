/* Open a treatment cycle (nurse), for clinics whose HIS does not open cycles: find the female patient and the male
 * partner (ID card on the reader, document number, or patient ID), choose the cycle type, open the cycle, then go
 * straight to the stage check with the new cycle selected.
 *
 * API: POST /devices/document/read -> {document}; POST /patients/lookup {document_type, document_number} -> patient
 * (404: nobody registered holds it); GET /patients/{id}; GET /cycles?patient_id=… and GET /couples/{id} to reuse the
 * pair's couple; POST /couples {female_patient_id, male_patient_id}; POST /cycles {couple_id, kind}. The daemon
 * refuses a second open cycle per couple (409 cycle_open) and a partner of the wrong sex (422 sex_mismatch); those
 * answers are shown as they come. Document numbers travel in JSON bodies only; URLs carry ids. */
(function () {
  "use strict";
  const IV = window.IV;
  const DONOR_SPERM = new Set(["donor_sperm_ivf", "donor_sperm_iui"]);
  const PARTNERS = ["female", "male"];
  const chosen = { female: null, male: null };

  function needsMale() {
    return !DONOR_SPERM.has(document.getElementById("cycle-kind").value);
  }

  function renderChosen(partner) {
    const box = document.getElementById(partner + "-chosen");
    const patient = chosen[partner];
    if (!patient) {
      delete box.dataset.patientId;
      box.replaceChildren(IV.el("p", { class: "muted" }, IV.t("cycle_new.none_chosen")));
      return;
    }
    const enrolled = (patient.enrolled || []).length > 0;
    box.dataset.patientId = patient.id;
    box.replaceChildren(IV.el("p", { class: "subject-person" },
      IV.el("strong", { class: "subject-name" }, (patient.identity || {}).name || "—"),
      " · ", IV.label("sex", patient.sex), " · ",
      IV.el("span", { class: enrolled ? null : "subject-warning" },
        IV.t(enrolled ? "cycle_new.enrolled" : "cycle_new.not_enrolled"))),
    IV.el("p", { class: "muted mono" }, IV.t("cycle_new.by_patient_id") + " " + patient.id));
  }

  /* Run one way of finding the partner; "nobody holds this document / no such id" gets its own sentence. */
  async function choose(partner, button, lookup) {
    const box = document.getElementById(partner + "-error");
    IV.clearError(box);
    await IV.busy(button, async () => {
      try {
        chosen[partner] = await lookup();
        renderChosen(partner);
        IV.clearError(document.getElementById("cycle-error")); /* "choose the partners first" no longer applies */
      } catch (err) {
        IV.showError(box, err.status === 404 ? { code: "patient_not_found" } : err);
      }
    });
  }

  function byDocument(documentType, documentNumber) {
    return IV.api("POST", "/patients/lookup", { document_type: documentType, document_number: documentNumber });
  }

  async function scan() {
    const doc = (await IV.api("POST", "/devices/document/read")).document;
    return byDocument(doc.document_type, doc.document_number);
  }

  function typed(partner) {
    const by = document.getElementById(partner + "-by").value;
    const value = document.getElementById(partner + "-value").value.trim();
    if (!value) return Promise.reject({ code: "find_value_required" });
    if (by === "patient_id") return IV.api("GET", "/patients/" + encodeURIComponent(value));
    return byDocument(by, value);
  }

  /* Donor-sperm cycles have no male partner: his part of the form steps aside (and is not sent). */
  function kindChanged() {
    const needed = needsMale();
    document.getElementById("male-not-needed").hidden = needed;
    document.getElementById("male-find-box").hidden = !needed;
    document.getElementById("male-chosen").hidden = !needed;
    document.getElementById("male-error").hidden = true;
  }

  /* The pair's couple when they already had a cycle together, so the daemon's one-open-cycle-per-couple rule sees
   * it; else a new couple. One request per earlier couple of hers (a handful at most). */
  async function coupleOf(femaleId, maleId) {
    const cycles = (await IV.api("GET", "/cycles?limit=500&patient_id=" + encodeURIComponent(femaleId))).items || [];
    for (const coupleId of new Set(cycles.map((c) => c.couple_id))) {
      const couple = await IV.api("GET", "/couples/" + encodeURIComponent(coupleId));
      if (couple.female_patient_id === femaleId && (couple.male_patient_id || null) === maleId) return couple.id;
    }
    return (await IV.api("POST", "/couples", { female_patient_id: femaleId, male_patient_id: maleId })).id;
  }

  async function submit(event) {
    event.preventDefault();
    const box = document.getElementById("cycle-error");
    const button = document.getElementById("cycle-submit");
    IV.clearError(box);
    const female = chosen.female;
    const male = needsMale() ? chosen.male : null;
    if (!female || (needsMale() && !male)) {
      IV.showError(box, { code: "patient_not_chosen" });
      return;
    }
    await IV.busy(button, async () => {
      try {
        const coupleId = await coupleOf(female.id, male ? male.id : null);
        const cycle = await IV.api("POST", "/cycles",
          { couple_id: coupleId, kind: document.getElementById("cycle-kind").value });
        const done = document.getElementById("cycle-done");
        done.replaceChildren(...IV.tNodes("cycle_new.opened", { id: IV.idSpan(cycle.id) }));
        done.hidden = false;
        window.location.assign("/nurse/check?cycle=" + encodeURIComponent(cycle.id) + "&opened=1");
      } catch (err) {
        IV.showError(box, err);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const partner of PARTNERS) {
      const scanButton = document.getElementById(partner + "-scan");
      scanButton.addEventListener("click", () => choose(partner, scanButton, scan));
      const findButton = document.getElementById(partner + "-find");
      findButton.addEventListener("click", () => choose(partner, findButton, () => typed(partner)));
      document.getElementById(partner + "-value").addEventListener("keydown", (event) => {
        if (event.key !== "Enter") return;
        event.preventDefault(); /* Enter finds this partner; it does not open the cycle */
        findButton.click();
      });
    }
    document.getElementById("cycle-kind").addEventListener("change", kindChanged);
    document.getElementById("cycle-form").addEventListener("submit", submit);
    kindChanged();
  });
})();
