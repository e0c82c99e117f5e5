"use strict";
// An estimate from the API ({n, mean, sd, ci_low, ci_high, half_width}) as text: the mean ± the half-width of its
// 95 % interval, three decimals as on the leaderboard (api/pages/leaderboard_table.py), the mean alone when n < 2.
const estimateText = {
  plusMinus(estimate) {
    const half = estimate.half_width;
    return half === null ? estimate.mean.toFixed(3) : `${estimate.mean.toFixed(3)} ± ${half.toFixed(3)}`;
  },
  // A paired difference carries its sign: "+0.012 ± 0.008".
  difference(estimate) {
    const text = this.plusMinus(estimate);
    return estimate.mean >= 0 ? `+${text}` : text.replace("-", "−");
  },
  // A table cell of one comparison from the API ({difference, claim, paired}): the signed difference, the claim the
  // family-wise correction allows, and "unpaired" where one side was recorded on another machine.
  fillDifference(cell, found) {
    const span = (text, className) => dom.element("span", text, className);
    cell.append(span(this.difference(found.difference), "difference"));
    if (found.claim) cell.append(" ", span(found.claim, `verdict verdict-${found.claim}`));
    if (!found.paired) {
      const mark = span("unpaired", "unpaired-mark");
      mark.title = "one of the two was recorded on another machine: compared as two samples, not trial by trial";
      cell.append(" ", mark);
    }
    cell.title = `n=${found.difference.n} shared trials`;
  },
};
