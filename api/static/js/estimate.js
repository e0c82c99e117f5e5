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
};
