/* Staff accounts (it_admin): list, create, disable/enable. Passwords go in the JSON body, never in a URL. */
(function () {
  "use strict";
  const IV = window.IV;

  function statusBadge(active) {
    return IV.el("span", { class: "badge " + (active ? "badge-ok" : "badge-off") },
      IV.t(active ? "staff.active" : "staff.disabled"));
  }

  function row(staff, selfId) {
    const action = staff.id === selfId
      ? IV.el("span", { class: "muted" }, IV.t("staff.you"))
      : IV.el("button", { type: "button", class: "btn btn-small " + (staff.active ? "btn-danger" : ""),
        dataset: { action: staff.active ? "disable" : "enable", staffId: staff.id },
        onclick: (e) => setActive(staff, !staff.active, e.currentTarget) },
      IV.t(staff.active ? "staff.disable" : "staff.enable"));
    return IV.el("tr", { dataset: { staffId: staff.id, username: staff.username } },
      IV.el("td", { class: "mono" }, staff.username),
      IV.el("td", {}, staff.display_name),
      IV.el("td", {}, IV.label("role", staff.role)),
      IV.el("td", {}, statusBadge(staff.active)),
      IV.el("td", {}, IV.fmtDateTime(staff.last_login_at, true)),
      IV.el("td", {}, action));
  }

  async function load() {
    const selfId = document.body.dataset.staffId;
    try {
      const list = await IV.api("GET", "/staff");
      document.querySelector("#staff-table tbody").replaceChildren(...list.map((s) => row(s, selfId)));
    } catch (err) {
      IV.pageError(err);
    }
  }

  async function setActive(staff, active, button) {
    if (!active) {
      const ok = await IV.confirmAction(IV.t("staff.confirm_disable", { username: staff.username }),
        IV.t("staff.disable"));
      if (!ok) return;
    }
    await IV.busy(button, async () => {
      try {
        await IV.api("PATCH", "/staff/" + encodeURIComponent(staff.id), { active: active });
        await load();
      } catch (err) {
        IV.pageError(err);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("staff-form");
    const box = document.getElementById("staff-form-error");
    const ok = document.getElementById("staff-form-ok");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      IV.clearError(box);
      ok.hidden = true;
      const body = {
        username: form.elements.username.value.trim(),
        display_name: form.elements.display_name.value.trim(),
        role: form.elements.role.value,
        password: form.elements.password.value,
      };
      await IV.busy(form.querySelector("button[type=submit]"), async () => {
        try {
          const created = await IV.api("POST", "/staff", body);
          form.reset();
          ok.textContent = IV.t("staff.created", { username: created.username });
          ok.hidden = false;
          await load();
        } catch (err) {
          IV.showError(box, err);
        }
      });
    });
    load();
  });
})();
