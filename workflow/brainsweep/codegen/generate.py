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

__all__ = ["cache_dir", "generate", "source_hash", "spec_hash", "write_kernel"]


def spec_hash(spec: KernelSpec, target_name: str) -> str:
    """Hash of everything that shapes a kernel: IR, templates, options, package version."""
    from brainsweep import __version__
    from brainsweep.backends import get_target

    target = get_target(target_name)
    digest = hashlib.sha256()
    for part in (repr(spec.model), repr(spec.coupling), spec.integrator, str(spec.stochastic),
                 spec.dtype, target.name, template_digest(target.template_folder),
                 __version__):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def generate(model, *, target: str = "numba", dtype: str = "float64", coupling=None,
             integrator: str = "heun", stochastic: bool = True) -> str:
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
    from brainsweep.backends import get_target

    spec = model if isinstance(model, KernelSpec) else kernel_spec(
        model, coupling=coupling, integrator=integrator, stochastic=stochastic, dtype=dtype)
    impl = get_target(target)
    context = lower(spec, impl.renderer, coupling_sum=impl.coupling_sum).as_dict()
    context.update(impl.context_extras(spec))
    context.update(version=__version__, spec_hash=spec_hash(spec, impl.name))
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
