"""Feedback inhibition control (FIC) for the excitatory-inhibitory Wong-Wang model: J_i from
the steady state (:func:`fic_inhibition`) and, optionally, tuned by simulation during a
warm-up (:func:`tune_inhibition`)."""

from brainsweep.fic.iterative import TunedInhibition, tune_inhibition
from brainsweep.fic.steady_state import TARGET_RATE_HZ, excitatory_rates, fic_inhibition

__all__ = ["TARGET_RATE_HZ", "TunedInhibition", "excitatory_rates", "fic_inhibition",
           "tune_inhibition"]
