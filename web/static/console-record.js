// The record form's "add a row" buttons (a static file: the pages' policy allows no inline script).
"use strict";
// "Add a row": copy the last row of a nested list with its index raised and values cleared.
document.querySelectorAll("fieldset.rows .add-row").forEach(function (button) {
  button.addEventListener("click", function () {
    var body = button.parentElement.querySelector("tbody");
    var last = body.lastElementChild;
    var copy = last.cloneNode(true);
    copy.querySelectorAll("input, select").forEach(function (input) {
      input.name = input.name.replace(/-(\d+)-/, function (_m, i) { return "-" + (Number(i) + 1) + "-"; });
      input.id = input.name;
      input.removeAttribute("aria-invalid");
      if (input.tagName === "INPUT") { input.value = ""; } else { input.selectedIndex = 0; }
    });
    copy.querySelectorAll(".error").forEach(function (e) { e.remove(); });
    copy.querySelectorAll("td").forEach(function (td) { td.classList.remove("invalid"); });
    body.appendChild(copy);
  });
});
