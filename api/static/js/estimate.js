"use strict";
// An estimate from the API ({n, mean, sd, ci_low, ci_high}) as text: the mean ± the half-width of its 95 %
// interval, three decimals as on the leaderboard (api/pages/leaderboard_table.py), the mean alone when n < 2.
const estimateText = {
  halfWidth(estimate) {
    return estimate.ci_low === null || estimate.ci_high === null ? null : (estimate.ci_high - estimate.ci_low) / 2;
  },
  plusMinus(estimate) {
    const half = this.halfWidth(estimate);
    return half === null ? estimate.mean.toFixed(3) : `${estimate.mean.toFixed(3)} ± ${half.toFixed(3)}`;
  },
  // A paired difference carries its sign: "+0.012 ± 0.008".
  difference(estimate) {
    const text = this.plusMinus(estimate);
    return estimate.mean >= 0 ? `+${text}` : text.replace("-", "−");
  },
  // "better" / "worse" when the interval excludes 0, else null: no claim either way (n < 2 never claims).
  verdict(estimate) {
    if (estimate.ci_low === null || estimate.ci_high === null) return null;
    if (estimate.ci_low > 0) return "better";
    if (estimate.ci_high < 0) return "worse";
    return null;
  },
};
