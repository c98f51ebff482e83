// Keyboard shortcuts and "select all": progressive enhancement, every page works without.
// j / k: next / previous row of a list (focuses its first link); x: select the focused row;
// a: acknowledge (an exception's page); /: the search box; ?: list the shortcuts.
// Also the auto-refresh of live list pages.
(function () {
  "use strict";
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  function rows() {
    return Array.from(document.querySelectorAll("table.list tbody tr")).filter(
      (tr) => tr.querySelector("a")
    );
  }
  function move(step) {
    const all = rows();
    if (!all.length) return;
    const current = all.findIndex((tr) => tr.contains(document.activeElement));
    const next = current < 0 ? (step > 0 ? 0 : all.length - 1)
      : Math.min(Math.max(current + step, 0), all.length - 1);
    all.forEach((tr) => tr.classList.remove("kbd-current"));
    all[next].classList.add("kbd-current");
    all[next].querySelector("a").focus();
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    if (ev.key === "j") { move(1); ev.preventDefault(); }
    else if (ev.key === "k") { move(-1); ev.preventDefault(); }
    else if (ev.key === "x") {
      const tr = rows().find((r) => r.contains(document.activeElement));
      const box = tr && tr.querySelector('input[type="checkbox"]');
      if (box) { box.checked = !box.checked; ev.preventDefault(); }
    } else if (ev.key === "a") {
      const ack = document.querySelector('form input[name="action"][value="ack"]');
      if (ack && ack.form.querySelector("button")) { ack.form.requestSubmit(); ev.preventDefault(); }
    } else if (ev.key === "/") {
      const q = document.querySelector('input[type="search"]');
      if (q) { q.focus(); ev.preventDefault(); }
    } else if (ev.key === "?") {
      const help = document.getElementById("shortcuts");
      if (help) { help.hidden = !help.hidden; ev.preventDefault(); }
    }
  });
  // Auto-refresh of live list pages: every 30 s the parts marked data-refresh are fetched
  // again (same URL, so the same filters), unless someone is typing or the tab is hidden.
  const REFRESH_MS = 30000;
  setInterval(function () {
    const box = document.getElementById("auto-refresh");
    if (!box || !box.checked || document.hidden || typing(document.activeElement)) return;
    if (!window.htmx) return;
    document.querySelectorAll("[data-refresh][id]").forEach(function (el) {
      htmx.ajax("GET", location.href, { target: "#" + el.id, select: "#" + el.id, swap: "outerHTML" });
    });
  }, REFRESH_MS);
  document.addEventListener("change", function (ev) {
    if (ev.target.id !== "select-all") return;
    document.querySelectorAll('input[name="exception_id"][form="bulk"]').forEach((box) => {
      box.checked = ev.target.checked;
    });
  });
})();
