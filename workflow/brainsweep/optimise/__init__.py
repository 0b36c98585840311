"""Fitting by optimisation instead of a grid: CMA-ES (pycma) and Optuna's samplers over any
free parameters within bounds, per subject, every generation of a job one batch of
simulations, resumable per generation (docs/fitting.md).

:mod:`.settings` (the ``optimise:`` section), :mod:`.search` (the searches),
:mod:`.evaluate` (simulate and score one batch), :mod:`.stage` (one job, ``brainsweep
optimise``) and :mod:`.summary` (the study's tables and figures, ``brainsweep
optimise-summary``).
"""
