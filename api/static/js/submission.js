"use strict";
// A submission's page: public progress polled from /api/submissions/{id}/public and drawn (Chart.js); for its
// owner (token in this tab, from the submit page or pasted here) also the code, errors and log tails, from the
// owner-only endpoints, and a cancel button while it is queued or running.
(() => {
  const POLL_MS = 2000;
  const { status: STATUS, primaryMetric } = poisonbenchSchema;
  const ACTIVE = new Set(poisonbenchSchema.activeStatuses);
  const root = document.getElementById("submission");
  const id = root.dataset.submissionId;
  const charts = new Map();
  const $ = (elementId) => document.getElementById(elementId);
  let isOwner = false;
  let polling = false;

  const { element } = dom;

  // Training seeds are 63-bit integers: a JavaScript number keeps 53 bits, so a seed is read as its exact digits.
  async function exactJson(response) {
    const text = await response.text();
    return JSON.parse(text, (key, value, context) => (key === "seed" && context ? context.source : value));
  }

  async function fetchPublic() {
    let response = await fetch(`/api/submissions/${id}/public`, { headers: participantToken.headers() });
    if (response.status === 401) {
      participantToken.forget(); // a stale token must not hide what anyone may see
      response = await fetch(`/api/submissions/${id}/public`);
    }
    // A 5xx is the service's passing trouble (a restart, a busy database), not an answer: poll() tries again.
    if (response.status >= 500) throw new Error(`the service answered ${response.status}`);
    return response.ok ? exactJson(response) : null;
  }

  async function fetchOwn(path) {
    if (!isOwner) return null;
    const response = await fetch(`/api/submissions/${id}${path}`, { headers: participantToken.headers() });
    return response.ok ? exactJson(response) : null;
  }

  // What the owner-only endpoint says of `token` for this submission: null if it is the owner's, else why not.
  async function refusalOf(token) {
    const response = await fetch(`/api/submissions/${id}`, { headers: { Authorization: `Bearer ${token}` } });
    if (response.ok) return null;
    if (response.status === 401) return "This token is not valid: check that you pasted all of it (pb_…).";
    if (response.status === 404) return `This token is valid, but submission ${id} is not yours.`;
    const answer = await response.json().catch(() => ({}));
    return answer.detail || `The service answered ${response.status}; try again.`;
  }

  function showTokenError(message) {
    $("owner-token-error").textContent = message || "";
    $("owner-token-error").hidden = !message;
    $("owner-token").setAttribute("aria-invalid", message ? "true" : "false");
  }

  // The token in this tab decides: the owner's view, or the form to paste one.
  async function settleOwner() {
    const token = participantToken.get();
    isOwner = Boolean(token) && (await refusalOf(token)) === null;
    $("token-form").hidden = isOwner;
    if (isOwner) await renderOwnCode();
  }

  $("token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = $("owner-token").value.trim();
    if (!token) {
      showTokenError("Paste your token.");
      return;
    }
    const refusal = await refusalOf(token).catch(() => "The service did not answer; try again.");
    showTokenError(refusal);
    if (refusal) return;
    participantToken.set(token);
    $("owner-token").value = "";
    await settleOwner();
    if (!polling) poll(); // a hidden submission shows to its owner now; a finished one gets its errors
  });

  $("cancel-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!window.confirm(`Cancel submission ${id}? Its queued and running runs stop.`)) return;
    $("cancel-button").disabled = true;
    const response = await fetch(`/api/submissions/${id}/cancel`, {
      method: "POST",
      headers: participantToken.headers(),
    }).catch(() => null);
    $("cancel-button").disabled = false;
    const answer = response ? await response.json().catch(() => ({})) : {};
    const failed = !response || !response.ok;
    $("cancel-error").textContent = failed ? answer.detail || "The service did not answer; try again." : "";
    $("cancel-error").hidden = !failed;
    if (failed) return;
    $("cancel-form").hidden = true;
    $("status").textContent = answer.status; // at once; the next poll brings the runs
    $("status").className = `status status-${answer.status}`;
    if (!polling) poll();
  });

  function renderFacts(submission) {
    document.title = `${submission.name} · PoisonBench`;
    $("submission-name").textContent = submission.name;
    $("participant").textContent = submission.participant;
    $("kind").textContent = submission.kind;
    $("kind").className = `kind kind-${submission.kind}`;
    $("suite").textContent = submission.suite;
    $("status").textContent = submission.status;
    $("status").className = `status status-${submission.status}`;
    $("created").textContent = new Date(submission.created_at).toLocaleString();
    $("not-found").hidden = true;
    $("facts").hidden = false;
  }

  // The metric columns the page was rendered with, from the result schema, in their order.
  function metricColumns() {
    return Array.from(document.querySelectorAll("#runs th[data-metric]"), (header) => header.dataset.metric);
  }

  function metricCell(run, metric) {
    const value = run.metrics ? run.metrics[metric].toFixed(3) : "—";
    return element("td", value, "num");
  }

  function progressCell(run) {
    const cell = element("td");
    const total = run.epochs_total;
    if (total === null) {
      cell.textContent = run.status === STATUS.QUEUED ? "waiting to start" : "—";
      return cell;
    }
    const bar = element("progress");
    bar.max = total;
    bar.value = run.epochs_done;
    bar.setAttribute("aria-label", `${run.benchmark} seed ${run.seed}`);
    cell.append(bar, element("span", ` epoch ${run.epochs_done} of ${total}`, "progress-text"));
    return cell;
  }

  function renderRuns(runs) {
    const rows = runs.map((run) => {
      const row = element("tr");
      row.dataset.benchmark = run.benchmark;
      const status = element("td");
      status.append(element("span", run.status, `status status-${run.status}`));
      const benchmark = element("th", run.benchmark);
      benchmark.append(element("span", `seed ${run.seed}`, "method-meta narrow-only"));
      row.append(benchmark, element("td", String(run.seed), "wide-only"), status, progressCell(run));
      row.cells[0].scope = "row";
      row.append(...metricColumns().map((metric) => metricCell(run, metric)));
      return row;
    });
    $("runs").tBodies[0].replaceChildren(...rows);
    $("runs-section").hidden = false;
  }

  // One chart per run, its two curve metrics in the Okabe-Ito colours of the compare page.
  const CURVE_COLOURS = Object.fromEntries(
    epochCurves.metrics.map((metric, index) => [metric.name, ["#0072b2", "#d55e00"][index]]),
  );

  function renderCurves(runs) {
    const several = new Set(runs.map((run) => run.seed)).size > 1;
    const drawn = runs.filter((run) => run.curve.length > 0);
    for (const run of drawn) {
      const label = several ? `${run.benchmark} (seed ${run.seed})` : run.benchmark;
      const key = `${run.benchmark}/${run.seed}`;
      const lines = [{ name: null, colour: CURVE_COLOURS, values: epochCurves.valuesOf(run.curve) }];
      if (!charts.has(key)) {
        const figure = element("figure", undefined, "curve");
        const canvas = element("canvas");
        canvas.setAttribute("role", "img");
        figure.append(canvas, element("figcaption", label));
        $("curves").append(figure);
        charts.set(key, { chart: epochCurves.draw(canvas, lines), canvas });
      } else {
        epochCurves.update(charts.get(key).chart, lines);
      }
      const last = run.curve[run.curve.length - 1];
      charts
        .get(key)
        .canvas.setAttribute(
          "aria-label",
          `${label}: after epoch ${last.epoch + 1}, ${epochCurves.lastValues(lines[0].values)}`,
        );
    }
    $("curves-section").hidden = drawn.length === 0;
  }

  function renderAbout(submission) {
    if (!("rendered" in $("description").dataset)) $("description").textContent = submission.description || "";
    const link = $("paper-link");
    const safe = /^https?:\/\/[^\s]+$/i.test(submission.link || ""); // never a javascript: or data: link
    link.hidden = !safe;
    if (safe) {
      link.href = submission.link;
      link.textContent = submission.link;
    }
    $("about-entry").hidden = !submission.description && !safe;
  }

  // Shown while the submission is queued or running: its place and estimated start while it waits (the API sends
  // nulls once one of its runs starts), its estimated finish until its last run ends.
  function renderQueue(submission) {
    const waiting = submission.status === STATUS.QUEUED && submission.queue_position !== null;
    $("queue-section").hidden = !ACTIVE.has(submission.status);
    $("queue-heading").textContent = waiting ? "Waiting in the queue" : "Training";
    document.querySelectorAll("#queue-section .while-waiting").forEach((node) => (node.hidden = !waiting));
    $("estimated-finish").textContent = estimatedTimeText(submission.estimated_finish);
    if (!waiting) return;
    const ahead = submission.queue_position - 1;
    $("queue-position").textContent =
      `${submission.queue_position} (${ahead === 0 ? "next to start" : `${ahead} run${ahead === 1 ? "" : "s"} ahead`})`;
    $("estimated-start").textContent = estimatedTimeText(submission.estimated_start);
  }

  // A start or finish from the API as a clock time and how far off it is; null until every benchmark it waits for
  // has a run trained on this service to time it.
  function estimatedTimeText(iso) {
    if (iso === null) return "not known yet: a benchmark it waits for has no run trained here to time it";
    const at = new Date(iso);
    const minutes = Math.max(0, Math.round((at - Date.now()) / 60000));
    const clock = at.toDateString() === new Date().toDateString() ? at.toLocaleTimeString() : at.toLocaleString();
    if (minutes === 0) return `${clock} (any minute now)`;
    return `${clock} (in about ${minutes < 120 ? `${minutes} min` : `${Math.round(minutes / 60)} h`})`;
  }

  // Benchmarks down, trials across: each cell the run's status and its epochs or its primary metric.
  function renderTrialGrid(runs) {
    const trials = [...new Set(runs.map((run) => run.trial))].sort((a, b) => a - b);
    const benchmarks = [...new Set(runs.map((run) => run.benchmark))];
    const head = $("trial-grid").tHead.rows[0];
    head.replaceChildren(element("th", "Benchmark"), ...trials.map((trial) => element("th", `trial ${trial}`)));
    [...head.cells].forEach((cell) => (cell.scope = "col"));
    const rows = benchmarks.map((benchmark) => {
      const row = element("tr");
      const name = element("th", benchmark);
      name.scope = "row";
      row.append(name);
      for (const trial of trials) {
        const here = runs.filter((candidate) => candidate.benchmark === benchmark && candidate.trial === trial);
        // A rerun's run waits beside the current one, whose result stays shown until the rerun wholly succeeds.
        const run = here.find((candidate) => !candidate.pending_replacement);
        const rerun = here.find((candidate) => candidate.pending_replacement);
        const cell = element("td", undefined, "trial-cell");
        if (run) {
          cell.dataset.status = run.status;
          cell.append(element("span", run.status, `status status-${run.status}`));
          const detail = run.metrics
            ? `${primaryMetric} ${run.metrics[primaryMetric].toFixed(3)}`
            : run.epochs_total === null
              ? ""
              : `epoch ${run.epochs_done} of ${run.epochs_total}`;
          if (detail) cell.append(" ", element("span", detail, "trial-detail"));
        }
        if (rerun) cell.append(" ", element("span", `rerun: ${rerun.status}`, "trial-detail rerun-detail"));
        row.append(cell);
      }
      return row;
    });
    $("trial-grid").tBodies[0].replaceChildren(...rows);
    $("trials-section").hidden = runs.length === 0;
  }

  // One row per other entry, one column per scope (headline first): "+0.012 ± 0.008", marked when significant.
  // is_leader marks the board's first ranked entry other than this one: the runner-up when this one leads.
  function renderComparisons(comparisons, leads) {
    const list = comparisons || [];
    $("comparisons-section").hidden = list.length === 0;
    if (list.length === 0) return;
    const scopes = [...new Set(list.map((comparison) => comparison.scope))].sort(
      (a, b) => (b === "headline") - (a === "headline"),
    );
    const head = $("comparisons").tHead.rows[0];
    head.replaceChildren(element("th", "Against"), ...scopes.map((scope) => element("th", scope, "num")));
    [...head.cells].forEach((cell) => (cell.scope = "col"));
    const against = new Map();
    for (const comparison of list) {
      if (!against.has(comparison.against_id)) against.set(comparison.against_id, { comparison, cells: {} });
      against.get(comparison.against_id).cells[comparison.scope] = comparison;
    }
    const rows = [...against.values()].map(({ comparison, cells }) => {
      const row = element("tr");
      row.dataset.againstId = comparison.against_id;
      const name = element("th");
      name.scope = "row";
      const link = element("a", comparison.against_name);
      link.href = `/submissions/${comparison.against_id}`;
      name.append(link, " ", element("span", comparison.against_kind, `kind kind-${comparison.against_kind}`));
      if (comparison.is_leader) {
        name.append(" ", element("span", leads ? "runner-up" : "leader", "leader-mark"));
      }
      row.append(name);
      for (const scope of scopes) {
        const found = cells[scope];
        const cell = element("td", undefined, "num");
        if (found) {
          cell.dataset.scope = scope;
          estimateText.fillDifference(cell, found);
        }
        row.append(cell);
      }
      return row;
    });
    $("comparisons").tBodies[0].replaceChildren(...rows);
    $("comparison-count").textContent = String(list.length);
  }

  async function renderOwnErrors() {
    const detail = await fetchOwn("");
    const failed = detail ? detail.runs.filter((run) => run.status === STATUS.FAILED) : [];
    const blocks = failed.map((run) => {
      const block = element("div", undefined, "run-error");
      block.append(element("h3", `${run.benchmark} (seed ${run.seed}): ${run.failure_cause || STATUS.FAILED}`));
      block.append(element("p", run.error || "no error message was recorded", "error-message"));
      if (run.log_tail) {
        const log = element("details");
        log.open = true;
        log.append(element("summary", "Log tail"), element("pre", run.log_tail, "log-tail"));
        block.append(log);
      }
      return block;
    });
    $("errors").replaceChildren(...blocks);
    $("error-section").hidden = blocks.length === 0;
  }

  async function renderOwnCode() {
    const submission = await fetchOwn("/code");
    if (!submission) return;
    $("code").textContent = submission.code;
    $("code-sha256").textContent = `sha256 ${submission.sha256}`;
    hljs.highlightElement($("code"));
    $("code-section").hidden = false;
  }

  async function poll() {
    polling = true;
    let submission;
    try {
      submission = await fetchPublic();
    } catch {
      setTimeout(poll, POLL_MS); // the service restarting or the network blinking: try again
      return;
    }
    if (!submission) {
      $("not-found").hidden = false;
      polling = false;
      return;
    }
    renderFacts(submission);
    renderAbout(submission);
    renderQueue(submission);
    renderTrialGrid(submission.runs);
    renderComparisons(submission.comparisons, submission.leads);
    renderRuns(submission.runs);
    renderCurves(submission.runs);
    const active = ACTIVE.has(submission.status);
    $("cancel-form").hidden = !(isOwner && active);
    if (submission.kind !== "submission") $("token-form").hidden = true; // the service's own: nobody's token
    if (active) {
      setTimeout(poll, POLL_MS);
    } else {
      polling = false;
      await renderOwnErrors();
    }
  }

  settleOwner().then(poll);
})();
