/* Hub administration (hub_admin): register a clinic log by its verifier key, create commission users. */
(function () {
  "use strict";
  const IV = window.IV;

  function wire(formId, path, fields, okText) {
    const form = document.getElementById(formId);
    const box = document.getElementById(formId.replace("-form", "-error"));
    const ok = document.getElementById(formId.replace("-form", "-ok"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      IV.clearError(box);
      ok.hidden = true;
      const body = {};
      for (const name of fields) body[name] = form.elements[name].value.trim();
      await IV.busy(form.querySelector("button[type=submit]"), async () => {
        try {
          const result = await IV.api("POST", path, body);
          ok.textContent = okText(result);
          ok.hidden = false;
          form.reset();
        } catch (err) {
          IV.showError(box, err);
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    wire("clinic-form", "/clinics", ["name", "verifier_key"], (r) => IV.t("admin.clinic_added", { origin: r.origin }));
    wire("user-form", "/users", ["username", "display_name", "role", "password"],
      (r) => IV.t("admin.user_added", { username: r.username }));
  });
})();
