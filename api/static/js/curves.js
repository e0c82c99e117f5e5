"use strict";
// Curves per epoch, one module for the submission and compare pages (Chart.js). The metrics a run's curve records
// come from poisonbenchSchema (/schema.js, written from harness/result.py): the higher-is-better one (test_acc) is
// drawn solid on a 0-1 axis at the left, the lower-is-better one (poison_fit) dashed on a right axis scaled to its
// values, often a few hundredths, which on the 0-1 axis would lie flat on the floor. Each legend label says its
// line's style, and only the last epoch, the value a run ends with, carries a marker.
const epochCurves = (() => {
  const metrics = poisonbenchSchema.metrics.filter((metric) => poisonbenchSchema.curveMetrics.includes(metric.name));
  const SOLID = { dash: [], axis: "y", word: "solid" };
  const DASHED = { dash: [6, 3], axis: "y1", word: "dashed" };
  const styleOf = (metric) => (metric.higherIsBetter ? SOLID : DASHED);
  const LAST_MARKER_RADIUS = 3;

  // The values of each curve metric from a run's records ({epoch, test_acc, poison_fit, ...}).
  function valuesOf(records) {
    return Object.fromEntries(metrics.map((metric) => [metric.name, records.map((record) => record[metric.name])]));
  }

  // "test_acc 0.810, poison_fit 0.190": a line's last values, for a chart's text alternative.
  function lastValues(values) {
    return metrics.map((metric) => `${metric.name} ${values[metric.name].at(-1).toFixed(3)}`).join(", ");
  }

  // lines: [{name (null for a page's own entry), colour (one, or one per metric), values: {metric: [...]}}]
  function datasets(lines) {
    return lines.flatMap((line) =>
      metrics.map((metric) => {
        const style = styleOf(metric);
        const colour = typeof line.colour === "string" ? line.colour : line.colour[metric.name];
        return {
          label: `${line.name ? `${line.name}: ` : ""}${metric.name} ${metric.arrow} (${style.word})`,
          data: line.values[metric.name],
          borderColor: colour,
          backgroundColor: colour,
          borderDash: style.dash,
          yAxisID: style.axis,
          pointRadius: (point) => (point.dataIndex === point.dataset.data.length - 1 ? LAST_MARKER_RADIUS : 0),
          pointHoverRadius: LAST_MARKER_RADIUS + 1,
        };
      }),
    );
  }

  // The dashed axis spans its data with a margin, never below 0 or above 1 (its metric is a fraction).
  function dashedRange(sets) {
    const values = sets.filter((set) => set.yAxisID === DASHED.axis).flatMap((set) => set.data);
    const low = Math.min(...values);
    const high = Math.max(...values);
    const margin = Math.max((high - low) * 0.1, 0.01);
    return { min: Math.max(0, low - margin), max: Math.min(1, high + margin) };
  }

  function axisTitle(style) {
    return metrics.filter((metric) => styleOf(metric) === style).map((metric) => metric.name).join(", ");
  }

  function epochLabels(lines) {
    const epochs = Math.max(...lines.map((line) => line.values[metrics[0].name].length));
    return Array.from({ length: epochs }, (_, epoch) => epoch + 1);
  }

  // Several entries: a legend item per entry (its colour) and one per metric (its line's style), each a click
  // away from hiding its lines, rather than one long item per line. One entry: an item per line.
  function legendLabels(lines) {
    // A line drawn once in its own dash: a box's outline would draw the dash twice, out of phase, as a solid line.
    const stroke = { usePointStyle: true, pointStyle: "line", pointStyleWidth: 28 };
    if (lines.length === 1) return stroke;
    return {
      ...stroke,
      generateLabels(chart) {
        const hidden = (indexes) => indexes.every((index) => !chart.isDatasetVisible(index));
        const of = (test) => chart.data.datasets.map((_, index) => index).filter(test);
        const entries = lines.map((line, entry) => ({
          text: line.name,
          strokeStyle: line.colour,
          fillStyle: line.colour,
          lineWidth: 3,
          datasets: of((index) => Math.floor(index / metrics.length) === entry),
        }));
        const styles = metrics.map((metric, position) => ({
          text: `${metric.name} ${metric.arrow} (${styleOf(metric).word})`,
          strokeStyle: "#1b1b1f",
          fillStyle: "#1b1b1f",
          lineWidth: 2,
          lineDash: styleOf(metric).dash,
          datasets: of((index) => index % metrics.length === position),
        }));
        return [...entries, ...styles].map((item) => ({ ...item, pointStyle: "line", hidden: hidden(item.datasets) }));
      },
    };
  }

  function toggleLines(_event, item, legend) {
    if (!item.datasets) return Chart.defaults.plugins.legend.onClick.call(this, _event, item, legend);
    const show = item.datasets.some((index) => !legend.chart.isDatasetVisible(index));
    item.datasets.forEach((index) => legend.chart.setDatasetVisibility(index, show));
    legend.chart.update();
  }

  function draw(canvas, lines) {
    const sets = datasets(lines);
    return new Chart(canvas, {
      type: "line",
      data: { labels: epochLabels(lines), datasets: sets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        color: "#1b1b1f", // Chart.js's default grey is too faint on white
        // A short stroke in the line's own dash beside each label, and the style said in words too.
        plugins: { legend: { labels: legendLabels(lines), onClick: toggleLines } },
        scales: {
          x: { title: { display: true, text: "epoch" } },
          y: { min: 0, max: 1, position: "left", title: { display: true, text: axisTitle(SOLID) } },
          y1: {
            position: "right",
            ...dashedRange(sets),
            grid: { drawOnChartArea: false },
            title: { display: true, text: axisTitle(DASHED) },
          },
        },
      },
    });
  }

  // New values for the same lines (a run that trained another epoch): the legend's choices are kept.
  function update(chart, lines) {
    const sets = datasets(lines);
    chart.data.labels = epochLabels(lines);
    sets.forEach((set, index) => (chart.data.datasets[index].data = set.data));
    Object.assign(chart.options.scales.y1, dashedRange(sets));
    chart.update();
  }

  return { valuesOf, lastValues, draw, update, metrics };
})();
