// Keep the running total of the review form up to date; the server computes the stored total.
(function () {
  "use strict";
  var form = document.getElementById("assessment-form");
  var out = document.getElementById("running-total");
  if (!form || !out) { return; }
  function update() {
    var total = 0;
    form.querySelectorAll("input[type=radio]:checked").forEach(function (input) {
      var weight = parseFloat(input.getAttribute("data-weight") || "0");
      if (input.getAttribute("data-kind") === "auto") { total += input.value === "yes" ? weight : 0; }
      else { total += weight * parseInt(input.value, 10) / 5; }
    });
    var conflict = form.querySelector("input[name=conflict_of_interest]");
    out.textContent = conflict && conflict.checked ? "–" : total.toFixed(2);
  }
  form.addEventListener("change", update);
  update();
})();
