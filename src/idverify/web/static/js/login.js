/* Login form: posts JSON to /api/v1/auth/login (the API sets the session cookie), then lets "/" pick the role's
 * home page. */
(function () {
  "use strict";
  const IV = window.IV;

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("login-form");
    const box = document.getElementById("login-error");
    const submit = document.getElementById("login-submit");
    document.getElementById("login-username").focus();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      IV.clearError(box);
      const username = form.elements.username.value.trim();
      const password = form.elements.password.value;
      if (!username || !password) {
        IV.showError(box, { code: "login_fields_required" });
        return;
      }
      await IV.busy(submit, async () => {
        try {
          await IV.api("POST", "/auth/login", { username: username, password: password });
          window.location.assign("/");
        } catch (err) {
          form.elements.password.value = "";
          IV.showError(box, err);
          form.elements.password.focus();
        }
      });
    });
  });
})();
