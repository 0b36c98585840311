"""What a kernel is generated from: the model, the coupling, the integrator, the float type."""

from __future__ import annotations

from dataclasses import dataclass

from brainsweep.dsl import Coupling, Model, load_coupling, load_model
from brainsweep.errors import InputError

__all__ = ["DEFAULT_COUPLING", "HISTORY_DTYPES", "INTEGRATORS", "KernelSpec", "kernel_spec",
           "regional_names"]

# name -> (stages of dfun per step, has a stochastic form). Stochastic forms add TVB's
# additive noise sqrt(2 D dt) z; the coupling is held fixed over each step, as TVB does.
INTEGRATORS: dict[str, tuple[int, bool]] = {"euler": (1, True), "heun": (2, True),
                                            "rk4": (4, False)}
DTYPES = ("float32", "float64")
# Storage types of the delay history narrower than the kernel's: values are rounded to nearest
# on store and widened exactly on load; all arithmetic stays in the kernel's type.
HISTORY_DTYPES = ("float16",)


@dataclass(frozen=True)
class KernelSpec:
    """Everything that shapes a generated kernel (and so its cache key).

    ``history_dtype`` is None when the delay history is stored in the kernel's ``dtype``
    (every target), or a narrower storage type of :data:`HISTORY_DTYPES` (the GPU targets).
    ``regional`` names the model parameters the kernel reads per region (a table
    ``[simulation][parameter][node]`` beside the scalar parameter table), in the model's
    parameter order; empty (the default) gives the kernels of a homogeneous model unchanged.
    ``factorise``: the kernels sum the coupling's declared separable parts (the history holds
    their source functions) instead of ``pre`` per connection; the oracle never does.
    """

    model: Model
    coupling: Coupling
    integrator: str = "heun"
    stochastic: bool = True
    dtype: str = "float64"
    history_dtype: str | None = None
    regional: tuple[str, ...] = ()
    # the coupling's separable form is used (brainsweep.codegen.channels); True only for a
    # coupling that declares one, so every other spec, and its hash, is what it was
    factorise: bool = False

    @property
    def history_storage(self) -> str:
        """The delay history's storage type: ``history_dtype``, else ``dtype``."""
        return self.history_dtype or self.dtype

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Columns of the kernel's parameter table: model, then coupling, then speed."""
        return (*self.model.parameter_names,
                *(f"coupling.{p}" for p in self.coupling.parameter_names), "speed")


DEFAULT_COUPLING = "linear"


def kernel_spec(model, *, coupling=None, integrator: str = "heun", stochastic: bool = True,
                dtype: str = "float64", history_dtype: str | None = None,
                regional=(), factorise: bool = True) -> KernelSpec:
    """Build and check a :class:`KernelSpec` from names or objects.

    ``coupling=None`` takes the coupling the model's own file declares (a RateML LEMS file's
    coupling type), else ``"linear"``. ``history_dtype`` None or equal to ``dtype`` stores the
    delay history in the kernel's type (the spec is then the default one); ``"float16"``
    stores it in half precision (CUDA and OpenCL targets only). ``regional``: model
    parameter names given per region (any order; kept in the model's parameter order).
    ``factorise``: use the coupling's separable form where it declares one (the default;
    False sums ``pre`` per connection, as the kernels did before, for comparisons).
    """
    model = load_model(model)
    if coupling is None:
        coupling = model.default_coupling or DEFAULT_COUPLING
    coupling = load_coupling(coupling)
    if integrator not in INTEGRATORS:
        raise InputError(f"unknown integrator {integrator!r}; known: {sorted(INTEGRATORS)}",
                         field="integrator")
    if stochastic and not INTEGRATORS[integrator][1]:
        raise InputError(f"integrator {integrator!r} has no stochastic form; use euler or heun",
                         field="integrator")
    if dtype not in DTYPES:
        raise InputError(f"dtype must be one of {DTYPES}, got {dtype!r}", field="dtype")
    if history_dtype == dtype:
        history_dtype = None  # the same kernel, the same cache key, as leaving it out
    if history_dtype is not None and history_dtype not in HISTORY_DTYPES:
        raise InputError(f"history_dtype must be the kernel's dtype ({dtype}) or one of "
                         f"{HISTORY_DTYPES}, got {history_dtype!r}", field="history_dtype")
    if not model.coupling_terms:
        raise InputError(f"model {model.name} declares no coupling_terms", source=model.source)
    # each term keeps the variables the coupling reads: those are what the history stores
    model = model.for_coupling(coupling)
    return KernelSpec(model=model, coupling=coupling, integrator=integrator,
                      stochastic=bool(stochastic), dtype=dtype, history_dtype=history_dtype,
                      regional=regional_names(model, regional),
                      factorise=bool(factorise and coupling.separable))


def regional_names(model: Model, names) -> tuple[str, ...]:
    """``names`` checked against the model's parameters, in the model's parameter order."""
    names = set(names)
    unknown = sorted(names - set(model.parameter_names))
    if unknown:
        raise InputError(f"only model parameters can be given per region; {unknown} is not "
                         f"one of {model.name}'s {list(model.parameter_names)}",
                         field="regional")
    return tuple(name for name in model.parameter_names if name in names)
