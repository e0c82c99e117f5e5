"use strict";
// Sorting the leaderboard by any column: its header is a button (click, Enter or Space) and carries aria-sort.
(() => {
  const table = document.getElementById("leaderboard");
  if (!table) return;
  const headers = [...table.tHead.rows[table.tHead.rows.length - 1].cells];
  const body = table.tBodies[0];
  const rankOf = (row) => Number(row.cells[0].dataset.value);

  function sortBy(header, column) {
    // The first press puts the best first: descending for a ↑ metric, ascending for ↓, the rank and text.
    const preferred = header.dataset.higherIsBetter === "true" ? "descending" : "ascending";
    const current = header.getAttribute("aria-sort");
    const direction = current === preferred ? (preferred === "ascending" ? "descending" : "ascending") : preferred;
    const sign = direction === "ascending" ? 1 : -1;
    const numeric = header.dataset.sort === "number";
    const rows = [...body.rows];
    rows.sort((a, b) => {
      const x = a.cells[column].dataset.value;
      const y = b.cells[column].dataset.value;
      const order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
      return sign * order || rankOf(a) - rankOf(b);
    });
    body.append(...rows);
    headers.forEach((other) => other.removeAttribute("aria-sort"));
    header.setAttribute("aria-sort", direction);
  }

  headers.forEach((header, column) => {
    header.querySelector("button").addEventListener("click", () => sortBy(header, column));
  });
})();
