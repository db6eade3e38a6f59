// Progressive enhancement for the assessment form: reveal one more metastasis row
// at a time. Without JavaScript the server renders enough rows for every case.
(function () {
  "use strict";
  // After a refused submit, put keyboard focus on the first field with a message.
  var invalid = document.querySelector('.assessment-form [aria-invalid="true"]');
  if (invalid) { invalid.focus(); }

  // Months and response only mean something once systemic therapy has started; the
  // server ignores them otherwise, so say so by disabling them.
  var started = document.getElementById("systemic_therapy-started");
  var therapyFields = ["systemic_therapy-months", "systemic_therapy-response"]
    .map(function (id) { return document.getElementById(id); })
    .filter(function (el) { return el; });
  function syncTherapy() {
    var off = started && started.value !== "yes";
    therapyFields.forEach(function (el) { el.disabled = off; });
  }
  if (started) { started.addEventListener("change", syncTherapy); syncTherapy(); }
  var button = document.getElementById("add-site");
  var container = document.getElementById("metastasis-rows");
  if (!button || !container) { return; }
  var MAX_ROWS = 8;
  function rows() { return container.querySelectorAll(".met-row"); }
  button.hidden = rows().length >= MAX_ROWS;
  button.addEventListener("click", function () {
    var all = rows();
    if (all.length >= MAX_ROWS) { return; }
    var last = all[all.length - 1];
    var next = all.length;
    var copy = last.cloneNode(true);
    copy.dataset.row = String(next);
    copy.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
    copy.querySelectorAll(".field").forEach(function (f) { f.classList.remove("invalid"); });
    copy.querySelectorAll("label, select, input").forEach(function (el) {
      ["id", "name", "for"].forEach(function (attr) {
        var v = el.getAttribute(attr);
        if (v) { el.setAttribute(attr, v.replace(/metastases-\d+-/, "metastases-" + next + "-")); }
      });
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
      if (el.tagName === "LABEL") { el.textContent = el.textContent.replace(/\d+/, String(next + 1)); }
      if (el.tagName === "SELECT") { el.selectedIndex = 0; }
      if (el.tagName === "INPUT") { el.value = ""; }
    });
    container.appendChild(copy);
    copy.querySelector("select").focus();
    button.hidden = rows().length >= MAX_ROWS;
  });
})();
