// The rule builder (approvals/admin/rule_widgets.py): offer only the operators that suit the
// chosen field's type. The form works without this; the server checks the same thing.
(function () {
  "use strict";
  function narrow(fieldSelect) {
    var row = fieldSelect.closest(".cp-cond-row");
    var opSelect = row && row.querySelector("[data-cp-op]");
    var chosen = fieldSelect.options[fieldSelect.selectedIndex];
    if (!opSelect || !chosen) return;
    var ops = (chosen.getAttribute("data-ops") || "").split(" ").filter(Boolean);
    Array.prototype.forEach.call(opSelect.options, function (option) {
      var fits = ops.length === 0 || ops.indexOf(option.value) !== -1;
      option.hidden = !fits;
      option.disabled = !fits;
    });
    if (opSelect.selectedOptions[0] && opSelect.selectedOptions[0].disabled) {
      var first = Array.prototype.find.call(opSelect.options, function (o) { return !o.disabled; });
      if (first) opSelect.value = first.value;
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-cp-field]")) narrow(event.target);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-cp-field]").forEach(narrow);
  });
})();
