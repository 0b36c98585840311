"""What the kernels record besides the state: the Balloon–Windkessel haemodynamic model that
turns neural activity into BOLD inside every target's kernel (parameters, presets and the
float64 reference step the oracle uses).

It sits below the engine, which passes a preset's parameters to the kernels; the BOLD stage
(:mod:`brainsweep.bold`) post-processes what the kernels wrote.
"""

from brainsweep.monitors.balloon import PRESETS, BalloonParameters, balloon_preset

__all__ = ["PRESETS", "BalloonParameters", "balloon_preset"]
