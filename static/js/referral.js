// «Направление на госпитализацию»: choosing a bed profile asks the fund for free beds (the button's
// request); a click (or Enter) on a row of the answer fills the referral's target МО, department and
// bed profile. No inline script: the content security policy forbids it.
(function () {
  "use strict";
  function field(name) { return document.querySelector('#referral-form [data-target="' + name + '"]'); }
  document.addEventListener("change", function (event) {
    if (event.target === field("profile_code")) {
      var button = document.querySelector('[data-testid="free-beds"]');
      if (button && window.htmx) { window.htmx.trigger(button, "click"); }
    }
  });
  function pick(row) {
    [["to_mo", row.dataset.toMo], ["to_department", row.dataset.toDepartment], ["to_bed_profile", row.dataset.toBedProfile]]
      .forEach(function (pair) { var el = field(pair[0]); if (el && pair[1]) { el.value = pair[1]; } });
    document.querySelectorAll("table.free-beds tr.selected").forEach(function (r) { r.classList.remove("selected"); });
    row.classList.add("selected");
  }
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("table.free-beds tr.pick");
    if (row) { pick(row); }
  });
  document.addEventListener("keydown", function (event) {
    var row = event.target.closest && event.target.closest("table.free-beds tr.pick");
    if (row && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); pick(row); }
  });
})();
