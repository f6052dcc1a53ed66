// Progressive enhancement only: every page works without this file.
(function () {
  // #L10-L20: highlight a range of lines (a single #L10 is highlighted by CSS :target).
  function markLines() {
    document.querySelectorAll("tr.hl").forEach(function (tr) { tr.classList.remove("hl"); });
    var m = /^#L(\d+)(?:-L(\d+))?$/.exec(location.hash);
    if (!m) return;
    var from = +m[1], to = +(m[2] || m[1]);
    if (to < from) { var t = from; from = to; to = t; }
    for (var n = from; n <= to && n - from < 10000; n++) {
      var row = document.getElementById("L" + n);
      if (row) row.classList.add("hl");
    }
    var first = document.getElementById("L" + from);
    if (first && m[2]) first.scrollIntoView({block: "center"});
  }
  // Shift-click a second line number to select a range.
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest(".code td:first-child a, .code .ln a");
    if (!a || !e.shiftKey) return;
    var m = /^#L(\d+)/.exec(location.hash), n = +a.getAttribute("href").slice(2);
    if (!m) return;
    e.preventDefault();
    var from = Math.min(+m[1], n), to = Math.max(+m[1], n);
    history.replaceState(null, "", "#L" + from + "-L" + to);
    markLines();
  });
  window.addEventListener("hashchange", markLines);
  // A form marked data-reset-after-post="ID" (the comment forms, posted by htmx) is emptied after a
  // successful post, and the element ID (its error list) cleared; a refusal comes back retargeted
  // (HX-Retarget) and keeps what was typed. Here rather than in hx-on: the Content-Security-Policy
  // allows no inline script and no eval.
  document.addEventListener("htmx:afterRequest", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("form[data-reset-after-post]")) return;
    if (!e.detail.successful || e.detail.xhr.getResponseHeader("HX-Retarget")) return;
    form.reset();
    var errors = document.getElementById(form.dataset.resetAfterPost);
    if (errors) errors.innerHTML = "";
  });
  document.addEventListener("DOMContentLoaded", function () {
    markLines();
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var input = document.getElementById(button.dataset.copy);
        navigator.clipboard.writeText(input.value).then(function () { button.textContent = "Copied"; });
      });
    });
  });
})();
