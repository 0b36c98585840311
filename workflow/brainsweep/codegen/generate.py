"""Code generation: ``spec → IR → context → source``, cached by content hash.

Each stage can be inspected on its own: :func:`brainsweep.codegen.lower.lower` gives the
template context, :func:`generate` the source text, and the target compiles and runs it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from brainsweep.codegen.environment import environment, template_digest
from brainsweep.codegen.lower import lower
from brainsweep.codegen.spec import KernelSpec, kernel_spec
from brainsweep.errors import InputError

__all__ = ["cache_dir", "check_history_storage", "generate", "source_hash", "spec_hash",
           "write_kernel"]


def spec_hash(spec: KernelSpec, target_name: str) -> str:
    """Hash of everything that shapes a kernel: IR, templates, options, package version."""
    from brainsweep import __version__
    from brainsweep.registry import get_target

    target = get_target(target_name)
    digest = hashlib.sha256()
    for part in (repr(spec.model), repr(spec.coupling), spec.integrator, str(spec.stochastic),
                 spec.dtype, target.name, template_digest(target.template_folder),
                 __version__):
        digest.update(part.encode())
        digest.update(b"\0")
    if spec.history_dtype is not None:  # absent by default: default hashes stay as they were
        digest.update(f"history_dtype={spec.history_dtype}".encode())
    if spec.regional:  # likewise: a homogeneous kernel's hash does not change
        digest.update(f"regional={','.join(spec.regional)}".encode())
    if spec.factorise:  # likewise: only a separable coupling's kernels can be factorised
        digest.update(b"factorise")
    return digest.hexdigest()[:16]


def check_history_storage(spec: KernelSpec, target: str) -> None:
    """Refuse a ``spec.history_dtype`` that ``target`` cannot store (InputError, field
    ``history_dtype``): only targets listing it in ``history_dtypes`` generate it.

    Examples
    --------
    >>> spec = kernel_spec("montbrio", dtype="float32", history_dtype="float16")
    >>> check_history_storage(spec, "opencl")  # supported: returns None
    >>> try:
    ...     check_history_storage(spec, "numba")
    ... except InputError as error:
    ...     print(error.field, "|", str(error).split("; ")[1])
    history_dtype | history_dtype 'float16' needs one of the targets ['cuda', 'opencl']
    """
    from brainsweep.registry import get_target, list_targets

    impl = get_target(target)
    if spec.history_dtype is None or spec.history_dtype in impl.history_dtypes:
        return
    able = [name for name in list_targets()
            if spec.history_dtype in get_target(name).history_dtypes]
    raise InputError(f"the {impl.name} target stores the delay history in the kernel's dtype "
                     f"({spec.dtype}) only; history_dtype {spec.history_dtype!r} needs one of "
                     f"the targets {able}", field="history_dtype")


def generate(model, *, target: str = "numba", dtype: str = "float64", coupling=None,
             integrator: str = "heun", stochastic: bool = True,
             history_dtype: str | None = None, factorise: bool = True) -> str:
    """The kernel source text of ``model`` for ``target``.

    Parameters
    ----------
    model
        A :class:`~brainsweep.dsl.Model`, a shipped name, a ``.yaml`` or RateML ``.xml`` path,
        or a ready :class:`KernelSpec` (then the other options are ignored).
    coupling
        A shipped coupling name or a :class:`~brainsweep.dsl.Coupling`; None: the one the
        model's file declares (RateML LEMS), else ``"linear"``.

    Examples
    --------
    >>> source = generate("montbrio", target="numba", dtype="float64")
    >>> "def simulate_shard" in source
    True
    """
    from brainsweep import __version__
    from brainsweep.registry import get_target

    spec = model if isinstance(model, KernelSpec) else kernel_spec(
        model, coupling=coupling, integrator=integrator, stochastic=stochastic, dtype=dtype,
        history_dtype=history_dtype, factorise=factorise)
    impl = get_target(target)
    check_history_storage(spec, impl.name)
    context = lower(spec, impl.renderer, coupling_sum=impl.coupling_sum).as_dict()
    context.update(impl.context_extras(spec))
    context.update(version=__version__, spec_hash=spec_hash(spec, impl.name),
                   history_dtype=spec.history_storage)  # the history's storage type
    template = environment().get_template(f"{impl.template_folder}/{impl.main_template}")
    return template.render(**context)


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def cache_dir() -> Path:
    """Where generated kernels are cached (``BRAINSWEEP_CACHE`` or ~/.cache/brainsweep)."""
    root = os.environ.get("BRAINSWEEP_CACHE")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "brainsweep"


def write_kernel(source: str, folder: str | os.PathLike, *, stem: str, suffix: str) -> Path:
    """Write ``source`` as ``folder/stem-<hash>suffix`` atomically (no-op if present)."""
    from brainsweep.io import atomic_path

    path = Path(folder) / f"{stem}-{source_hash(source)}{suffix}"
    if not path.exists():
        with atomic_path(path) as tmp:
            tmp.write_text(source)
    return path
