"use strict";
// The compare page: two to four entries from /api/compare side by side per benchmark, their paired differences,
// and their per-epoch curves (from each one's public progress) overlaid, one chart per benchmark (Chart.js).
(() => {
  const root = document.getElementById("compare");
  const ids = root.dataset.ids;
  const $ = (elementId) => document.getElementById(elementId);
  // Colour-blind-safe (Okabe-Ito) and dark enough on white; an entry keeps its colour in every chart.
  const COLOURS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7"];

  const { element } = dom;

  function header(table, labels) {
    const row = table.tHead.rows[0];
    row.replaceChildren(...labels.map((label) => element("th", label)));
    [...row.cells].forEach((cell, index) => {
      cell.scope = "col";
      if (index > 0) cell.className = "num";
    });
  }

  function rowHeader(text, className) {
    const cell = element("th", text, className);
    cell.scope = "row";
    return cell;
  }

  function entryName(entry) {
    const cell = element("span");
    const link = element("a", entry.name);
    link.href = `/submissions/${entry.submission_id}`;
    cell.append(link, " ", element("span", entry.kind, `kind kind-${entry.kind}`));
    if (entry.provisional) cell.append(" ", element("span", `provisional n=${entry.trials_complete}`, "provisional"));
    return cell;
  }

  const TRACKS = ["headline", "transfer"];

  // The headline and its benchmarks, then the transfer track and its hidden-flip benchmarks where an entry has them.
  function scopesOf(comparison) {
    const has = (scope) => comparison.data.some((entry) => estimateOf(entry, scope) !== null);
    return ["headline", ...comparison.benchmarks, "transfer", ...comparison.transfer_benchmarks].filter(has);
  }

  // An entry's estimate on a scope, or null where it has none (no transfer trial complete yet).
  function estimateOf(entry, scope) {
    if (scope === "headline") return entry.headline;
    if (scope === "transfer") return entry.transfer;
    return entry.benchmarks[scope]?.[poisonbenchSchema.primaryMetric] ?? null;
  }

  function renderScores(comparison) {
    const table = $("scores");
    header(table, ["Benchmark", ...comparison.data.map(() => "")]);
    comparison.data.forEach((entry, index) => {
      table.tHead.rows[0].cells[index + 1].replaceChildren(entryName(entry));
    });
    const rows = scopesOf(comparison).map((scope) => {
      const row = element("tr");
      row.dataset.scope = scope;
      row.append(rowHeader(scope, TRACKS.includes(scope) ? "" : "mono"));
      for (const entry of comparison.data) {
        const estimate = estimateOf(entry, scope);
        if (!estimate) {
          row.append(element("td", "—", "num"));
          continue;
        }
        const cell = element("td", estimateText.plusMinus(estimate), "num");
        cell.append(element("span", ` n=${estimate.n}`, "trial-count"));
        if (scope === "transfer" && entry.transfer_flip_design !== comparison.flip_design) {
          // kept from an earlier design of the hidden flip: shown, never compared with the current one
          cell.append(" ", element("span", `flip design ${entry.transfer_flip_design}`, "design-mark"));
        }
        row.append(cell);
      }
      return row;
    });
    table.tBodies[0].replaceChildren(...rows);
    $("scores-section").hidden = false;
  }

  function renderDifferences(comparison) {
    const names = new Map(comparison.data.map((entry) => [entry.submission_id, entry.name]));
    const scopes = scopesOf(comparison);
    const table = $("differences");
    header(table, ["Pair", ...scopes]);
    const pairs = new Map();
    for (const difference of comparison.differences) {
      const key = `${difference.a_id}-${difference.b_id}`;
      if (!pairs.has(key)) pairs.set(key, { difference, cells: {} });
      pairs.get(key).cells[difference.scope] = difference;
    }
    const rows = [...pairs.values()].map(({ difference, cells }) => {
      const row = element("tr");
      row.dataset.pair = `${difference.a_id}-${difference.b_id}`;
      row.append(rowHeader(`${names.get(difference.a_id)} − ${names.get(difference.b_id)}`));
      for (const scope of scopes) {
        const cell = element("td", undefined, "num");
        const found = cells[scope];
        if (found) {
          cell.dataset.scope = scope;
          estimateText.fillDifference(cell, found);
        }
        row.append(cell);
      }
      return row;
    });
    table.tBodies[0].replaceChildren(...rows);
    $("differences-section").hidden = rows.length === 0;
  }

  // The mean over an entry's runs of one benchmark, epoch by epoch, of each curve metric (trials of equal length).
  function meanValues(runs) {
    const curves = runs.map((run) => run.curve).filter((curve) => curve.length > 0);
    if (curves.length === 0) return null;
    const epochs = Math.min(...curves.map((curve) => curve.length));
    const mean = (field, epoch) => curves.reduce((sum, curve) => sum + curve[epoch][field], 0) / curves.length;
    return Object.fromEntries(
      epochCurves.metrics.map((metric) => [
        metric.name,
        Array.from({ length: epochs }, (_, epoch) => mean(metric.name, epoch)),
      ]),
    );
  }

  function renderCurves(comparison, progress) {
    const figures = [];
    for (const benchmark of comparison.benchmarks) {
      const lines = [];
      comparison.data.forEach((entry, index) => {
        const runs = (progress[index]?.runs || []).filter(
          (run) => run.benchmark === benchmark && run.status === poisonbenchSchema.status.SUCCEEDED,
        );
        const values = meanValues(runs);
        if (values !== null) lines.push({ name: entry.name, colour: COLOURS[index], values });
      });
      if (lines.length === 0) continue;
      const figure = element("figure", undefined, "curve");
      const canvas = element("canvas");
      canvas.setAttribute("role", "img");
      const summary = lines.map((line) => `${line.name}: ${epochCurves.lastValues(line.values)}`);
      canvas.setAttribute("aria-label", `${benchmark}, after the last epoch: ${summary.join("; ")}`);
      figure.append(canvas, element("figcaption", benchmark));
      figures.push(figure);
      $("compare-curves").append(figure);
      epochCurves.draw(canvas, lines);
    }
    $("compare-curves-section").hidden = figures.length === 0;
  }

  async function load() {
    if (!ids) return; // the server already said what was wrong with the address
    const response = await fetch(`/api/compare?ids=${encodeURIComponent(ids)}`);
    const body = await response.json();
    if (!response.ok) {
      $("compare-error").textContent = body.detail; // every refusal is a sentence saying what to fix
      $("compare-error").hidden = false;
      return;
    }
    document.title = `Compare ${body.data.map((entry) => entry.name).join(", ")} · PoisonBench`;
    renderScores(body);
    renderDifferences(body);
    const progress = await Promise.all(
      body.data.map((entry) =>
        fetch(`/api/submissions/${entry.submission_id}/public`).then((answer) => (answer.ok ? answer.json() : null)),
      ),
    );
    renderCurves(body, progress);
  }

  load();
})();
