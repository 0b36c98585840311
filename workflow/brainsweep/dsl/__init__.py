"""The model DSL: YAML (or RateML LEMS XML) model descriptions → a validated IR."""

from brainsweep.dsl.coupling import Coupling, list_couplings, load_coupling
from brainsweep.dsl.loading import list_models, load_model
from brainsweep.dsl.model import Model
from brainsweep.dsl.parse import parse_expression
from brainsweep.dsl.parts import CouplingTerm, Parameter, StateVariable

__all__ = [
    "Coupling",
    "CouplingTerm",
    "Model",
    "Parameter",
    "StateVariable",
    "list_couplings",
    "list_models",
    "load_coupling",
    "load_model",
    "parse_expression",
]
