/* Staff accounts (it_admin): list, create, edit (name, role, password reset), disable/enable. Passwords go in the
 * JSON body, never in a URL. */
(function () {
  "use strict";
  const IV = window.IV;

  function statusBadge(active) {
    return IV.el("span", { class: "badge " + (active ? "badge-ok" : "badge-off") },
      IV.t(active ? "staff.active" : "staff.disabled"));
  }

  let editing = null;

  function row(staff, selfId) {
    const edit = IV.el("button", { type: "button", class: "btn btn-small", dataset: { action: "edit", staffId: staff.id },
      onclick: () => startEdit(staff) }, IV.t("staff.edit"));
    const action = IV.el("div", { class: "row-actions" }, edit, staff.id === selfId
      ? IV.el("span", { class: "muted" }, IV.t("staff.you"))
      : IV.el("button", { type: "button", class: "btn btn-small " + (staff.active ? "btn-danger" : ""),
        dataset: { action: staff.active ? "disable" : "enable", staffId: staff.id },
        onclick: (e) => setActive(staff, !staff.active, e.currentTarget) },
      IV.t(staff.active ? "staff.disable" : "staff.enable")));
    return IV.el("tr", { dataset: { staffId: staff.id, username: staff.username } },
      IV.el("td", { class: "mono" }, staff.username),
      IV.el("td", { translate: "no" }, staff.display_name),  /* typed by a person: never translated */
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

  function startEdit(staff) {
    const form = document.getElementById("edit-form");
    editing = staff;
    IV.clearError(document.getElementById("edit-form-error"));
    document.getElementById("edit-username").textContent = staff.username;
    form.elements.display_name.value = staff.display_name;
    form.elements.role.value = staff.role;
    form.elements.password.value = "";
    /* changing one's own role could lock the last administrator out: not offered here */
    form.elements.role.disabled = staff.id === document.body.dataset.staffId;
    form.hidden = false;
    document.getElementById("staff-form").hidden = true;
    form.elements.display_name.focus();
  }

  function stopEdit() {
    editing = null;
    const form = document.getElementById("edit-form");
    form.elements.password.value = "";
    form.hidden = true;
    document.getElementById("staff-form").hidden = false;
  }

  async function saveEdit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const box = document.getElementById("edit-form-error");
    IV.clearError(box);
    if (!editing) return;
    const body = {};
    const name = form.elements.display_name.value.trim();
    if (name !== editing.display_name) body.display_name = name;
    if (!form.elements.role.disabled && form.elements.role.value !== editing.role) body.role = form.elements.role.value;
    if (form.elements.password.value) body.password = form.elements.password.value;
    if (!Object.keys(body).length) {
      stopEdit();
      return;
    }
    await IV.busy(form.querySelector("button[type=submit]"), async () => {
      try {
        const saved = await IV.api("PATCH", "/staff/" + encodeURIComponent(editing.id), body);
        stopEdit();
        const ok = document.getElementById("staff-form-ok");
        ok.textContent = IV.t("staff.saved", { username: saved.username });
        ok.hidden = false;
        await load();
      } catch (err) {
        form.elements.password.value = "";
        IV.showError(box, err);
      }
    });
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
    document.getElementById("edit-form").addEventListener("submit", saveEdit);
    document.getElementById("edit-cancel").addEventListener("click", stopEdit);
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
