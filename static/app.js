// Faultline's only script: small conveniences on top of pages that work without it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // "Select all" checkboxes tick every checkbox of the class they name.
  for (const master of document.querySelectorAll("[data-select-all]")) {
    master.addEventListener("change", () => {
      for (const box of document.querySelectorAll("input." + master.dataset.selectAll)) {
        box.checked = master.checked;
      }
    });
  }
  // Copy buttons copy the text of the element they point at.
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        button.textContent = "Copied";
      } catch (_) {
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        button.textContent = "Press Ctrl+C";
      }
      setTimeout(() => { button.textContent = "Copy"; }, 2000);
    });
  }
  // Toggles show or hide the elements of the class they name (e.g. library frames).
  for (const toggle of document.querySelectorAll("[data-toggle]")) {
    toggle.addEventListener("click", () => {
      const shown = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!shown));
      for (const element of document.querySelectorAll("." + toggle.dataset.toggle)) {
        element.hidden = shown;
      }
      const labels = (toggle.dataset.labels || "").split("|");
      if (labels.length === 2) toggle.textContent = shown ? labels[0] : labels[1];
    });
  }
  // Confirm destructive actions.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});
