/* Live camera preview for the nurse: polls the daemon's latest frame (GET /api/v1/devices/camera/preview.jpg) a few
 * times a second into an <img>. The camera is attached to the daemon, not to the browser, so there is no
 * getUserMedia here. When the camera is missing or fails, the placeholder text stays and polling slows down;
 * polling pauses while the tab is hidden. Frames are shown only, never stored by the page.
 *
 *   IV.camera.off() / IV.camera.on(): for a patient who refused face capture the preview stops and its figure is
 *   hidden (the check does not film him either); on() brings it back for the next patient. */
(function () {
  "use strict";
  const IV = window.IV;
  const URL_PATH = "/api/v1/devices/camera/preview.jpg";
  const FAST_MS = 400;
  const SLOW_MS = 3000;

  function start(frame) {
    const img = IV.el("img", { class: "camera-img", alt: "", hidden: true }) /* the frame div is the labelled image */;
    frame.append(img);
    const placeholder = frame.querySelector(".muted");
    let objectUrl = null;
    let timer = null;
    let off = false;

    function schedule(ms) {
      window.clearTimeout(timer);
      if (!document.hidden && !off) timer = window.setTimeout(tick, ms);
    }

    async function tick() {
      if (off) return;
      try {
        const response = await fetch(URL_PATH, { cache: "no-store", credentials: "same-origin" });
        if (!response.ok || !(response.headers.get("content-type") || "").startsWith("image/")) {
          // read the error body: an answer left unread (and, being no-store, not cached) keeps the request open
          await response.arrayBuffer().catch(() => null);
          throw new Error("no frame");
        }
        const next = URL.createObjectURL(await response.blob());
        if (off) {
          URL.revokeObjectURL(next);
          return;
        }
        img.src = next;
        if (objectUrl) URL.revokeObjectURL(objectUrl);
        objectUrl = next;
        img.hidden = false;
        if (placeholder) placeholder.hidden = true;
        frame.dataset.live = "true";
        schedule(FAST_MS);
      } catch (err) {
        img.hidden = true;
        if (placeholder) placeholder.hidden = false;
        frame.dataset.live = "false";
        schedule(SLOW_MS);
      }
    }

    document.addEventListener("visibilitychange", () => (document.hidden ? window.clearTimeout(timer) : schedule(0)));
    IV.camera = {
      off() {
        off = true;
        window.clearTimeout(timer);
        img.hidden = true;
        img.removeAttribute("src");
        if (objectUrl) URL.revokeObjectURL(objectUrl);
        objectUrl = null;
        frame.closest("figure").hidden = true;
      },
      on() {
        if (!off) return;
        off = false;
        frame.closest("figure").hidden = false;
        schedule(0);
      },
    };
    tick();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const frame = document.getElementById("camera-frame");
    if (frame) start(frame);
  });
})();
