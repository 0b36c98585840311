"""Feedback inhibition control (FIC) for the excitatory-inhibitory Wong-Wang model."""

from brainsweep.fic.steady_state import TARGET_RATE_HZ, excitatory_rates, fic_inhibition

__all__ = ["TARGET_RATE_HZ", "excitatory_rates", "fic_inhibition"]
