"""Flags for simulations whose score does not come from resting-state-like dynamics.

Four failure modes make a sizeable FC correlation mean little (docs/default-study.md):

* ``mean_fc``: the simulated FC is far above the data's on average: the network moves as
  one, and the correlation with the empirical FC comes from the few regions that do not.
* ``low_mean_fc``: the simulated FC is far below the data's on average: the regions hardly
  interact (the uncoupled regime), the FC is noise around zero, and a grid's best
  correlation with the empirical FC is the largest of many noisy draws
  (docs/heterogeneity.md).
* ``flat_bold``: the BOLD barely moves (the network rests in a fixed point the noise hardly
  perturbs); the FC of such fluctuations is at the mercy of rounding and filtering.
* ``transition``: the global signal jumps between states inside the analysed window: a
  single noise-driven event, shared by all regions, dominates every series, and another noise
  realisation would not repeat it.

Each threshold is a key of ``fit.degenerate`` and null switches its check off (the FC
deficit's default is null: studies that do not set it are judged as before). The BOLD
summaries come from the bold stage (:mod:`brainsweep.bold.dynamics`); bold shards written
without them skip those two checks.
"""

from __future__ import annotations

import numpy as np

__all__ = ["REASONS", "degenerate_reasons"]

#: Reason -> the ``fit.degenerate`` key holding its threshold.
REASONS: dict[str, str] = {
    "mean_fc": "max_mean_fc_excess",
    "low_mean_fc": "max_mean_fc_deficit",
    "flat_bold": "min_bold_std",
    "transition": "max_global_step",
}


def degenerate_reasons(
    mean_fc: np.ndarray,
    empirical_mean_fc: float,
    thresholds: dict[str, float | None],
    *,
    bold_std: np.ndarray | None = None,
    global_step: np.ndarray | None = None,
) -> list[str]:
    """The reasons each simulation is degenerate, ``";"``-joined (``""``: not degenerate).

    Parameters
    ----------
    mean_fc
        Mean of each simulation's FC upper triangle, (S,); NaN (diverged) is never flagged
        here, since a diverged simulation is excluded on its own account.
    empirical_mean_fc
        Mean of the empirical FC's upper triangle.
    thresholds
        ``max_mean_fc_excess`` (flag ``mean_fc - empirical > it``), ``max_mean_fc_deficit``
        (flag ``empirical - mean_fc > it``), ``min_bold_std`` (flag ``bold_std < it``),
        ``max_global_step`` (flag ``global_step > it``); None (or left out) skips.
    bold_std, global_step
        The bold stage's summaries, (S,), or None when the shards do not carry them.

    Examples
    --------
    >>> import numpy as np
    >>> degenerate_reasons(np.array([0.3, 0.9]), 0.4, {"max_mean_fc_excess": 0.2,
    ...                    "min_bold_std": None, "max_global_step": None})
    ['', 'mean_fc']
    >>> degenerate_reasons(np.array([0.3, 0.01]), 0.29, {"max_mean_fc_deficit": 0.15})
    ['', 'low_mean_fc']
    """
    mean_fc = np.asarray(mean_fc, dtype=np.float64)
    flags: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore"):
        limit = thresholds.get("max_mean_fc_excess")
        if limit is not None:
            flags["mean_fc"] = mean_fc - empirical_mean_fc > limit
        limit = thresholds.get("max_mean_fc_deficit")
        if limit is not None:
            flags["low_mean_fc"] = empirical_mean_fc - mean_fc > limit
        limit = thresholds.get("min_bold_std")
        if limit is not None and bold_std is not None:
            flags["flat_bold"] = np.asarray(bold_std, dtype=np.float64) < limit
        limit = thresholds.get("max_global_step")
        if limit is not None and global_step is not None:
            flags["transition"] = np.asarray(global_step, dtype=np.float64) > limit
    return [";".join(reason for reason in REASONS if reason in flags and flags[reason][i])
            for i in range(mean_fc.size)]
