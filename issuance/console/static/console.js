// CCCD web console: small progressive enhancement. Every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Fields pre-filled from the register: mark the ones the clerk changes.
  for (const input of document.querySelectorAll("[data-register]")) {
    const field = input.closest(".field");
    const mark = () => field.classList.toggle("changed", input.value.trim() !== input.dataset.register);
    input.addEventListener("input", mark);
    input.addEventListener("change", mark);
  }
  // Portrait: preview the chosen file and ask the server for its structural verdict.
  const file = document.querySelector("input[type=file][data-check]");
  if (file) {
    file.addEventListener("change", async () => {
      const img = document.getElementById("portrait-preview");
      const out = document.getElementById("portrait-verdict");
      if (!file.files.length) return;
      img.src = URL.createObjectURL(file.files[0]);
      const body = new FormData();
      body.append("portrait", file.files[0]);
      out.textContent = "…";
      out.className = "verdict";
      try {
        const r = await fetch(file.dataset.check, { method: "POST", body, credentials: "same-origin",
          headers: { "X-CSRF-Token": document.querySelector("input[name=csrf]").value } });
        const v = await r.json();
        out.textContent = v.message;
        out.className = "verdict " + (v.ok ? "ok" : "bad");
      } catch (e) {
        out.textContent = "Không kiểm tra được ảnh (could not check the portrait)";
        out.className = "verdict bad";
      }
    });
  }
  // Approval queue: select every row that can be selected.
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      for (const b of document.querySelectorAll("input[name=receipt]:not(:disabled)")) b.checked = all.checked;
    });
  }
  // Buttons that need a confirmation.
  for (const b of document.querySelectorAll("button[data-confirm]")) {
    b.addEventListener("click", (e) => { if (!confirm(b.dataset.confirm)) e.preventDefault(); });
  }
});
