// CCCD web console: live screens. The operator, print room and office pages listen to
// the workflow's events (/console/live, server-sent events) and, when a state they show
// changes, fetch themselves again and swap in the parts marked data-live-part. The
// verifier page shows what its reader watch (/console/verifier/watch) reports.
// Every page also works without this file: it shows the state at the time it loaded.
"use strict";

function liveParts(root) {
  const wanted = new Set(root.dataset.liveStates.split(" ").filter(Boolean));
  const badge = document.getElementById("live-status");
  let timer = null, busy = false, again = false, refreshes = 0;
  const refresh = async () => {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const r = await fetch(location.href, { credentials: "same-origin", headers: { "X-Live": "1" } });
      if (r.ok) {
        const doc = new DOMParser().parseFromString(await r.text(), "text/html");
        for (const part of document.querySelectorAll("[data-live-part]")) {
          const fresh = doc.getElementById(part.id);
          // A part the user is typing in stays as it is until the next change.
          if (fresh && !part.contains(document.activeElement)) part.replaceWith(document.importNode(fresh, true));
        }
        refreshes++;
        root.dataset.liveRefreshes = String(refreshes);
      }
    } catch (e) {
      // The next event tries again.
    } finally {
      busy = false;
      if (again) { again = false; schedule(); }
    }
  };
  const schedule = () => { if (!timer) timer = setTimeout(() => { timer = null; refresh(); }, 250); };
  const es = new EventSource(root.dataset.liveUrl || "/console/live");
  const show = (cls, text) => { if (badge) { badge.className = "badge " + cls; badge.textContent = text; } };
  es.addEventListener("open", () => show("ok", "● trực tiếp (live)"));
  es.addEventListener("error", () => show("warn", "○ mất kết nối, đang thử lại (reconnecting)"));
  es.addEventListener("off", () => { show("", "○ không có luồng sự kiện (no event feed)"); es.close(); });
  es.addEventListener("change", (e) => {
    const d = JSON.parse(e.data);
    if (d.lost || d.states.some((s) => wanted.has(s))) schedule();
  });
}

function watchReader(el) {
  const out = document.getElementById("verdict");
  const badge = document.getElementById("live-status");
  const es = new EventSource(el.dataset.watch);
  const put = (e) => { out.innerHTML = e.data; el.dataset.lastEvent = e.type; };
  es.addEventListener("open", () => { if (badge) { badge.className = "badge ok"; badge.textContent = "● đang chờ thẻ (watching)"; } });
  es.addEventListener("error", () => { if (badge) { badge.className = "badge warn"; badge.textContent = "○ mất kết nối (reconnecting)"; } });
  for (const kind of ["waiting", "result", "removed", "failed"]) es.addEventListener(kind, put);
  es.addEventListener("failed", () => es.close());
}

document.addEventListener("DOMContentLoaded", () => {
  const root = document.querySelector("[data-live-states]");
  if (root) liveParts(root);
  const watch = document.querySelector("[data-watch]");
  if (watch) watchReader(watch);
});
