/* Demo mode only: the "Simulated patient" panel. Presenting a persona puts their ID card on the simulated reader,
 * their face in front of the simulated camera and their fingers on the simulated sensor; "card held" lets the
 * impostor hold a patient's card; the act buttons make the person answer a liveness challenge (the simulated
 * camera acts the head turn out; "photo" holds still as a printed photo would). API (404 unless the daemon
 * simulates devices): GET /simulator, POST /simulator/present {persona, card_of?}, POST /simulator/act {action},
 * POST /simulator/leave -> {personas, current, card_of}. The role of a persona is worded from the page's catalogue
 * (sim.persona.<key>), beside the made-up name on its card (personas[].name); the English label is not shown. */
(function () {
  "use strict";
  const IV = window.IV;
  let current = null; /* who is at the desk, as the daemon last said */

  function name(key) {
    return IV.label("sim.persona", key);
  }

  function render(state) {
    const people = document.getElementById("sim-people");
    people.replaceChildren(...state.personas.map((p) => IV.el("button", {
      type: "button", class: "choice", "aria-pressed": state.current === p.key ? "true" : "false",
      dataset: { persona: p.key }, onclick: () => present(p.key),
    }, IV.el("span", { class: "choice-main" }, name(p.key)), IV.el("span", { class: "choice-sub" }, p.name))));
    const select = document.getElementById("sim-card-of");
    if (select.options.length === 1) {
      for (const p of state.personas) select.append(IV.el("option", { value: p.key }, name(p.key)));
    }
    current = state.current || null;
    for (const button of document.querySelectorAll("#sim-panel [data-plug]")) {
      const out = (state.unplugged || []).includes(button.dataset.plug);
      button.setAttribute("aria-pressed", out ? "true" : "false");
      button.textContent = IV.t((out ? "sim.replug_" : "sim.unplug_") + button.dataset.plug);
    }
    if (IV.devices) IV.devices.refresh(); /* the page's device state follows the pulled cable at once */
    const status = document.getElementById("sim-status");
    document.getElementById("sim-faces-missing").hidden = !state.faces_missing;
    status.dataset.current = state.current || "";
    if (!state.current) status.textContent = IV.t("sim.nobody");
    else if (state.card_of) status.textContent = IV.t("sim.now_with_card", { who: name(state.current), holder: name(state.card_of) });
    else status.textContent = IV.t("sim.now", { who: name(state.current) });
  }

  /* one request at a time, in the order clicked: "card held" then a person must reach the desk in that order */
  let queue = Promise.resolve();
  function call(method, path, body) {
    queue = queue.then(async () => {
      try {
        render(await IV.api(method, "/simulator" + path, body));
      } catch (err) {
        IV.pageError(err);
      }
    });
    return queue;
  }

  function present(key) {
    const cardOf = document.getElementById("sim-card-of").value;
    const body = { persona: key };
    if (cardOf) body.card_of = cardOf;
    return call("POST", "/present", body);
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!document.getElementById("sim-panel")) return;
    document.getElementById("sim-leave").addEventListener("click", () => call("POST", "/leave"));
    /* the card in the hand changes at once for the person already at the desk, not at the next click */
    document.getElementById("sim-card-of").addEventListener("change", () => (current ? present(current) : null));
    for (const button of document.querySelectorAll("#sim-panel [data-plug]")) {
      button.addEventListener("click", () => call("POST", "/plug", { device: button.dataset.plug,
        plugged: button.getAttribute("aria-pressed") === "true" }));
    }
    for (const button of document.querySelectorAll("#sim-panel [data-act]")) {
      button.addEventListener("click", () => call("POST", "/act", { action: button.dataset.act }));
    }
    /* on arrival the card in the hand is the daemon's; afterwards the list shows the nurse's own choice (a
     * request still answering must not undo what she has just picked) */
    queue = IV.api("GET", "/simulator").then((state) => {
      render(state);
      document.getElementById("sim-card-of").value = state.card_of || "";
    }, (err) => IV.pageError(err));
  });
})();
