"use strict";
// The leaderboard's controls: sorting by any column (its header is a button; aria-sort says the order), a row's
// details shown and hidden by its ▸ button, and the compare form sending the ticked entries as /compare?ids=1,2.
(() => {
  const table = document.getElementById("leaderboard");
  if (!table) return;
  const headers = [...table.tHead.rows[0].cells];
  // One <tbody> per entry (its row and its details row), so a sort moves both together.
  const entries = () => [...table.tBodies];
  const mainRow = (entry) => entry.rows[0];
  const rankOf = (entry) => Number(mainRow(entry).cells[1].dataset.value);

  function sortBy(header, column) {
    // The first press puts the best first: descending for a ↑ column, ascending for ↓, the rank and text.
    const preferred = header.dataset.higherIsBetter === "true" ? "descending" : "ascending";
    const current = header.getAttribute("aria-sort");
    const direction = current === preferred ? (preferred === "ascending" ? "descending" : "ascending") : preferred;
    const sign = direction === "ascending" ? 1 : -1;
    const numeric = header.dataset.sort === "number";
    const sorted = entries().sort((a, b) => {
      const x = mainRow(a).cells[column].dataset.value;
      const y = mainRow(b).cells[column].dataset.value;
      const order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
      return sign * order || rankOf(a) - rankOf(b);
    });
    table.append(...sorted);
    headers.forEach((other) => other.removeAttribute("aria-sort"));
    header.setAttribute("aria-sort", direction);
  }

  headers.forEach((header, column) => {
    const button = header.querySelector("button");
    if (button) button.addEventListener("click", () => sortBy(header, column));
  });

  table.addEventListener("click", (event) => {
    const toggle = event.target.closest(".row-toggle");
    if (!toggle) return;
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    document.getElementById(toggle.getAttribute("aria-controls")).hidden = !open;
  });

  const form = document.getElementById("compare-form");
  const hint = document.getElementById("compare-hint");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const ids = [...form.querySelectorAll(".compare-pick:checked")].map((box) => box.value);
    if (ids.length < 2 || ids.length > 4) {
      hint.textContent = `Tick two to four entries (${ids.length} ticked).`;
      hint.setAttribute("role", "alert");
      return;
    }
    window.location.assign(`/compare?ids=${ids.join(",")}`);
  });
})();
