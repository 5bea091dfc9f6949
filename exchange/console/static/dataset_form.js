// "Add a field" without a round trip: copy the last schema row, empty it and number it next.
// Without JavaScript the same button submits the form and the console returns it with one more row.
document.querySelectorAll("button[data-add-row]").forEach((button) => {
  button.addEventListener("click", (event) => {
    const body = document.querySelector(button.dataset.addRow + " tbody");
    const last = body && body.lastElementChild;
    if (!last) return;
    event.preventDefault();
    const next = body.children.length;
    const row = last.cloneNode(true);
    row.querySelectorAll(".field-error").forEach((error) => error.remove());
    row.querySelectorAll("input, select").forEach((input) => {
      input.name = input.name.replace(/\[\d+\]/, `[${next}]`);
      const label = input.getAttribute("aria-label");
      if (label) input.setAttribute("aria-label", label.replace(/\d+$/, String(next + 1)));
      if (input.type === "checkbox") input.checked = false;
      else if (input.tagName === "SELECT") input.selectedIndex = Math.max(0, [...input.options].findIndex((o) => o.value === "internal"));
      else input.value = "";
    });
    body.appendChild(row);
    row.querySelector("input").focus();
  });
});
