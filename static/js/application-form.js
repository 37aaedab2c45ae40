// Progressive enhancements for the application form; the form works without them.
(function () {
  "use strict";
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }
  document.querySelectorAll("textarea[data-counter]").forEach(function (area) {
    var max = parseInt(area.getAttribute("maxlength"), 10);
    var out = document.getElementById(area.id + "-count");
    if (!max || !out) { return; }
    var template = out.getAttribute("data-template") || "%s characters left";
    function update() {
      out.textContent = template.replace("%s", String(max - area.value.length));
    }
    out.hidden = false;
    area.setAttribute("aria-describedby", ((area.getAttribute("aria-describedby") || "") + " " + out.id).trim());
    area.addEventListener("input", update);
    update();
  });
})();
