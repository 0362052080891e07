/* Nurse stage check: pick an open cycle and one of its stages, run the check through the API, show the result
 * (and, for REJECT/RETRY, the two-person override).
 *
 * API contract: GET /api/v1/cycles?status=open -> {items: [{id, kind, couple_id, stages: [...], status}]};
 * POST /api/v1/cycles/{id}/checks {stage, use_devices: true} -> {verification: {id, decision, reasons, factors},
 * alert?}. With use_devices the daemon drives this workstation's card reader, camera and fingerprint sensor during
 * the POST; the prompts tell the patient what to do meanwhile. An alert (e.g. repeated rejects: a reason object) is shown in the page's language.
 *
 * Active liveness: first POST /api/v1/cycles/{id}/checks/challenge {stage} -> {challenge_id, prompt_key,
 * capture_seconds, ...}; 409 challenge_not_required means the stage's policy asks for none. Otherwise the prompt
 * ("Turn your head to your LEFT") is shown big over the camera for capture_seconds from the moment the check is
 * posted with challenge_id — the daemon films the patient during exactly that time, before the card and finger.
 *
 * Fingers: GET /api/v1/cycles/{id}/stages/{stage}/subject -> {people: [{name, enrolled, fingers: ["left_index", …]}]}.
 * A captured finger is compared only with the enrolled finger of the same position, so the prompt names an
 * enrolled finger (the first enrolled, or the one the nurse picks) and the check posts that position
 * (finger_positions). Without enrolled fingers the daemon's default (right index) is asked for and posted.
 *
 * Arriving from "New cycle" (/nurse/check?cycle=<id>&opened=1) selects that cycle. */
(function () {
  "use strict";
  const IV = window.IV;
  /* onlyCycles: after a card scan, the ids of the card holder's open cycles (null: show every open cycle) */
  /* challenge: the subject's policy asks for an active liveness challenge (null: not known, ask the daemon) */
  const state = { cycles: [], cycle: null, stage: null, running: false, onlyCycles: null, fingers: [], finger: null,
    challenge: null };
  const DEFAULT_FINGER = "right_index"; /* what the daemon captures when the check names no position */

  function choice(text, sub, pressed, onclick, data) {
    return IV.el("button", { type: "button", class: "choice", "aria-pressed": pressed ? "true" : "false",
      dataset: data, onclick: onclick },
    IV.el("span", { class: "choice-main" }, text), sub ? IV.el("span", { class: "choice-sub" }, sub) : null);
  }

  function visibleCycles() {
    if (!state.onlyCycles) return state.cycles;
    return state.cycles.filter((c) => state.onlyCycles.has(c.id));
  }

  function coupleNames(cycle) {
    const names = cycle.names || {};
    return ["female", "male"].map((p) => names[p]).filter(Boolean).join(" & ");
  }

  function renderCycles() {
    const list = document.getElementById("cycles");
    list.setAttribute("aria-busy", "false");
    const shown = visibleCycles();
    if (!shown.length) {
      list.replaceChildren(IV.el("p", { class: "muted" }, IV.t("check.no_cycles")));
      return;
    }
    list.replaceChildren(...shown.map((cycle) => choice(
      /* the couple by name first: that is how the nurse knows her patients, not by a cycle number */
      [coupleNames(cycle), IV.label("cycle_kind", cycle.kind)].filter(Boolean).join(" · "),
      [IV.tNodes("check.cycle_ref", { id: IV.idSpan(cycle.id) }),
        cycle.opened_at ? IV.t("check.opened", { time: IV.fmtDateTime(cycle.opened_at, true) }) : null,
        (cycle.stages || []).map((s) => IV.label("stage", s)).join(" → ")].filter(Boolean)
        .flatMap((part, i) => (i ? [" · ", part] : [part])),
      state.cycle && state.cycle.id === cycle.id,
      () => selectCycle(cycle),
      { cycleId: cycle.id })));
  }

  function renderStages() {
    const box = document.getElementById("stages");
    if (!state.cycle) {
      box.replaceChildren(IV.el("p", { class: "muted" }, IV.t("check.pick_cycle_first")));
      return;
    }
    box.replaceChildren(...(state.cycle.stages || []).map((stage) => choice(
      IV.label("stage", stage), null, state.stage === stage, () => selectStage(stage), { stage: stage })));
  }

  /* Whom the chosen stage verifies (the policy decides, not the nurse), by name, and whether she is enrolled:
   * the nurse calls the right person to the table and is told before the check when an enrolment is missing. */
  let subjectRequest = 0;
  async function loadSubject() {
    const box = document.getElementById("subject");
    const ticket = ++subjectRequest;
    box.replaceChildren();
    box.hidden = true;
    setFingers([]);
    setCamera(true);
    state.challenge = null;
    if (!state.cycle || !state.stage) return;
    let body;
    try {
      body = await IV.api("GET", "/cycles/" + encodeURIComponent(state.cycle.id) + "/stages/"
        + encodeURIComponent(state.stage) + "/subject");
    } catch (err) {
      return; /* the check itself reports the same problem with its own message */
    }
    if (ticket !== subjectRequest) return; /* the nurse picked something else meanwhile */
    box.append(IV.el("h3", {}, IV.t("check.subject_heading")));
    for (const person of body.people || []) {
      box.append(IV.el("p", { class: "subject-person", dataset: { partner: person.partner,
        enrolled: person.enrolled ? "true" : "false" } },
      IV.el("strong", { class: "subject-name" }, person.name || "—"), " · ", IV.label("partner", person.partner),
      person.enrolled ? null : IV.el("span", { class: "subject-warning", role: "alert" }, " " + IV.t("check.not_enrolled"))));
    }
    if (!(body.people || []).length) box.append(IV.el("p", { class: "muted" }, IV.t("check.no_subject")));
    /* face refused (or no face at this stage): no camera, no "look at the camera", and the screen says why */
    const filmed = !(body.people || []).length || body.people.some((p) => p.films_face !== false);
    if ((body.people || []).length === 1) state.challenge = body.people[0].challenge === true;
    setCamera(filmed);
    if (!filmed) box.append(IV.el("p", { class: "subject-note", id: "face-not-used" }, IV.t("check.face_not_used")));
    /* one person to verify: ask for her enrolled fingers (with both partners the check needs a partner first) */
    if ((body.people || []).length === 1) {
      setFingers(body.people[0].fingers || []);
      if (state.fingers.length) box.append(IV.el("div", { id: "fingers" }));
      renderFingers();
    }
    box.hidden = false;
  }

  function setCamera(filmed) {
    if (IV.camera) (filmed ? IV.camera.on : IV.camera.off)();
    document.querySelector('#prompts li[data-step="face"]').hidden = !filmed;
  }

  function setFingers(fingers) {
    state.fingers = fingers;
    state.finger = fingers.length ? fingers[0] : null;
    renderFingerPrompt();
  }

  /* The enrolled fingers; with more than one the nurse may pick another (e.g. the first is injured). */
  function renderFingers() {
    const box = document.getElementById("fingers");
    if (!box) return;
    if (state.fingers.length === 1) {
      box.replaceChildren(IV.el("p", {}, IV.t("check.fingers_one", { finger: IV.label("finger", state.finger) })));
      return;
    }
    box.replaceChildren(IV.el("h3", { id: "fingers-heading" }, IV.t("check.fingers_heading")),
      IV.el("div", { class: "choice-list choice-row", role: "group", "aria-labelledby": "fingers-heading" },
        state.fingers.map((finger) => choice(IV.label("finger", finger), null, finger === state.finger,
          () => selectFinger(finger), { finger: finger }))));
  }

  function selectFinger(finger) {
    if (state.running) return;
    state.finger = finger;
    renderFingers();
    renderFingerPrompt();
  }

  /* "Place the left index finger on the sensor (or: right middle finger)" */
  function renderFingerPrompt() {
    const item = document.querySelector('#prompts li[data-step="finger"]');
    const others = state.fingers.filter((f) => f !== state.finger).map((f) => IV.label("finger", f));
    item.textContent = IV.t("prompt.finger", { finger: IV.label("finger", state.finger || DEFAULT_FINGER) })
      + (others.length ? " " + IV.t("prompt.finger_alternatives", { fingers: others.join(", ") }) : "");
    item.dataset.finger = state.finger || DEFAULT_FINGER;
  }

  function updateStart() {
    document.getElementById("start-check").disabled = !(state.cycle && state.stage) || state.running;
  }

  /* A verdict belongs to the person it was given for: choosing another cycle, stage or card holder takes the
   * previous result (and its override form) off the screen before the new subject's name is shown. */
  function clearResult() {
    document.getElementById("result").replaceChildren();
    document.getElementById("check-stage").hidden = false;
    document.getElementById("next-patient").hidden = true;
  }

  function selectCycle(cycle) {
    if (state.running) return;
    clearResult();
    state.cycle = cycle;
    state.stage = cycle.stages && cycle.stages.length === 1 ? cycle.stages[0] : null;
    renderCycles();
    renderStages();
    updateStart();
    loadSubject();
  }

  function selectStage(stage) {
    if (state.running) return;
    clearResult();
    state.stage = stage;
    renderStages();
    updateStart();
    loadSubject();
  }

  function setRunning(running) {
    state.running = running;
    document.getElementById("progress").hidden = !running;
    document.getElementById("check-stage").classList.toggle("running", running);
    updateStart();
  }

  /* The challenge the stage's policy asks for, or null when it asks for none (known from the subject: then no
   * request at all; asked of the daemon only when the subject could not say). */
  async function askChallenge() {
    if (state.challenge === false) return null;
    try {
      return await IV.api("POST", "/cycles/" + encodeURIComponent(state.cycle.id) + "/checks/challenge",
        { stage: state.stage });
    } catch (err) {
      if (err.code === "challenge_not_required") return null;
      throw err;
    }
  }

  let challengeTimer = null;

  /* The big prompt while the daemon films; a countdown, then the usual card/finger prompts. */
  function showChallenge(challenge) {
    const box = document.getElementById("challenge-prompt");
    const count = document.getElementById("challenge-count");
    document.getElementById("challenge-text").textContent = IV.t(challenge.prompt_key);
    let left = Math.ceil(challenge.capture_seconds || 3);
    count.textContent = IV.t("challenge.countdown", { seconds: left });
    box.hidden = false;
    document.getElementById("prompts").hidden = true;
    window.clearInterval(challengeTimer);
    challengeTimer = window.setInterval(() => {
      left -= 1;
      if (left > 0) {
        count.textContent = IV.t("challenge.countdown", { seconds: left });
        return;
      }
      hideChallenge();
    }, 1000);
  }

  function hideChallenge() {
    window.clearInterval(challengeTimer);
    challengeTimer = null;
    document.getElementById("challenge-prompt").hidden = true;
    document.getElementById("prompts").hidden = false;
  }

  async function runCheck() {
    if (!state.cycle || !state.stage || state.running) return;
    const result = document.getElementById("result");
    result.replaceChildren();
    document.getElementById("check-stage").hidden = false;
    IV.clearError(document.getElementById("page-error"));
    setRunning(true);
    try {
      const request = { stage: state.stage, use_devices: true };
      if (state.finger) request.finger_positions = [state.finger];
      const challenge = await askChallenge();
      if (challenge) {
        request.challenge_id = challenge.challenge_id;
        showChallenge(challenge);
      }
      const body = await IV.api("POST", "/cycles/" + encodeURIComponent(state.cycle.id) + "/checks", request);
      hideChallenge();
      const box = IV.renderResult(result, body.verification, body.images);
      if (body.alert) {
        box.append(IV.el("div", { class: "check-alert", role: "alert", id: "check-alert" },
          IV.el("strong", {}, IV.t("check.alert")), " ", IV.reason(body.alert)));
      }
      IV.attachOverride(box, body.verification);
      document.getElementById("check-stage").hidden = true; // the result takes the camera's place
      document.getElementById("next-patient").hidden = false;
      /* the verdict banner is what she must see: focus "next patient" for the keyboard without scrolling to it */
      document.getElementById("next-patient").focus({ preventScroll: true });
      box.scrollIntoView({ block: "start" });
    } catch (err) {
      hideChallenge();
      IV.pageError(err);
    } finally {
      setRunning(false);
    }
  }

  function nextPatient() {
    clearScan();
    state.cycle = null;
    state.stage = null;
    clearResult();
    renderCycles();
    renderStages();
    updateStart();
    loadSubject();
    loadCycles();
  }

  /* Scan the ID card on the reader: find the patient holding it and show only that patient's open cycles (one
   * lookup, one cycle query by patient id, whatever the number of open cycles). The document number goes in a
   * JSON body to the lookup; only ids are kept. */
  async function scanCard() {
    const note = document.getElementById("scan-note");
    const button = document.getElementById("scan-card");
    IV.clearError(document.getElementById("page-error"));
    await IV.busy(button, async () => {
      try {
        const doc = (await IV.api("POST", "/devices/document/read")).document;
        const patient = await IV.api("POST", "/patients/lookup",
          { document_type: doc.document_type, document_number: doc.document_number });
        const theirs = (await IV.api("GET", "/cycles?status=open&limit=500&patient_id="
          + encodeURIComponent(patient.id))).items || [];
        const known = new Set(state.cycles.map((c) => c.id));
        state.cycles = state.cycles.concat(theirs.filter((c) => !known.has(c.id))); /* opened since the page loaded */
        state.onlyCycles = new Set(theirs.map((c) => c.id));
        const mine = visibleCycles();
        clearResult();
        state.cycle = null;
        state.stage = null;
        if (mine.length === 1) selectCycle(mine[0]);
        note.textContent = IV.t("check.scan_found", { count: mine.length });
        note.hidden = false;
        document.getElementById("scan-clear").hidden = false;
        renderCycles();
        renderStages();
        updateStart();
      } catch (err) {
        IV.pageError(err);
      }
    });
  }

  function clearScan() {
    state.onlyCycles = null;
    document.getElementById("scan-note").hidden = true;
    document.getElementById("scan-clear").hidden = true;
    renderCycles();
  }

  async function loadCycles() {
    try {
      const body = await IV.api("GET", "/cycles?status=open");
      state.cycles = body.items || [];
      renderCycles();
      selectRequested();
    } catch (err) {
      const list = document.getElementById("cycles");
      list.setAttribute("aria-busy", "false");
      list.replaceChildren(IV.el("p", { class: "muted" }, IV.t("check.cycles_unavailable")));
      IV.pageError(err);
    }
  }

  /* The cycle named in the address (?cycle=<id>, e.g. just opened on "New cycle"), once: selected and announced. */
  let requested = new URLSearchParams(window.location.search);
  function selectRequested() {
    const id = requested.get("cycle");
    const opened = requested.get("opened") === "1";
    requested = new URLSearchParams();
    const cycle = id && state.cycles.find((c) => c.id === id);
    if (!cycle) return;
    selectCycle(cycle);
    const button = document.querySelector(`#cycles button[data-cycle-id="${CSS.escape(cycle.id)}"]`);
    if (button) button.focus();
    if (opened) {
      const note = document.getElementById("opened-note");
      note.replaceChildren(...IV.tNodes("check.cycle_opened", { kind: IV.label("cycle_kind", cycle.kind),
        id: IV.idSpan(cycle.id) }));
      note.hidden = false;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("start-check").addEventListener("click", runCheck);
    document.getElementById("next-patient").addEventListener("click", nextPatient);
    document.getElementById("scan-card").addEventListener("click", scanCard);
    document.getElementById("scan-clear").addEventListener("click", clearScan);
    loadCycles();
  });
})();
