"""Per-region parameter values from a base value and swept coefficients.

For a parameter ``p`` with maps ``m_k`` (z-scored, in the connectome's order):

* ``scaled``: ``p_i = p0 (1 + sum_k b_k m_k,i)`` (Demirtaş et al. 2019: a gradient of
  local gain along a map);
* ``shifted``: ``p_i = p0 + sum_k b_k m_k,i``;
* ``groups``: ``p_i = v_g(i)``, one value per group of regions (Yeo-7 networks,
  hemispheres); a group whose value is not swept takes ``p0``.

``p0`` is the sweep's axis named ``p`` (or the model's default), ``b_k`` the axis
``p.<map name>`` (default 0: homogeneous), ``v_g`` the axis ``p.<group>``. Every value is
checked against the parameter's range: a simulation that would leave it is refused naming
the parameter, the region and the simulation's coefficients.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from brainsweep.errors import InputError

__all__ = ["FORMS", "RegionalParameter"]

FORMS = ("scaled", "shifted", "groups")


@dataclass(frozen=True, eq=False)
class RegionalParameter:
    """How one model parameter varies over the regions."""

    name: str
    form: str
    maps: np.ndarray  # (K, N) the maps (scaled, shifted) or (0, N) (groups)
    map_names: tuple[str, ...]
    groups: np.ndarray | None = None  # (N,) group index of each region (groups)
    group_names: tuple[str, ...] = ()
    bounds: tuple[float, float] | None = None  # the parameter's range
    regions: tuple[str, ...] = ()  # the connectome's labels, for error messages

    def __post_init__(self):
        if self.form not in FORMS:
            raise InputError(f"unknown form {self.form!r}; known: {list(FORMS)}",
                             field=f"model.regional.{self.name}.form")

    @property
    def coefficient_names(self) -> tuple[str, ...]:
        """The sweep axes this parameter reads besides its own: ``<name>.<map or group>``."""
        parts = self.group_names if self.form == "groups" else self.map_names
        return tuple(f"{self.name}.{part}" for part in parts)

    def values(self, base: np.ndarray, coefficients: Mapping[str, np.ndarray]) -> np.ndarray:
        """(S, N) values for ``base`` (S,) and each coefficient's (S,) values (absent: the
        neutral value, 0 for a map coefficient, ``base`` for a group)."""
        base = np.asarray(base, dtype=np.float64).reshape(-1)
        n_sims = base.size
        n_nodes = self.maps.shape[1] if self.form != "groups" else self.groups.size

        def column(name: str, default: np.ndarray) -> np.ndarray:
            value = coefficients.get(name)
            return default if value is None else np.broadcast_to(
                np.asarray(value, dtype=np.float64).reshape(-1), (n_sims,))

        if self.form == "groups":
            table = np.stack([column(name, base) for name in self.coefficient_names], axis=1)
            out = table[:, self.groups]
        else:
            b = np.stack([column(name, np.zeros(n_sims)) for name in self.coefficient_names],
                         axis=1) if self.map_names else np.zeros((n_sims, 0))
            gradient = b @ self.maps  # (S, N)
            out = base[:, None] * (1.0 + gradient) if self.form == "scaled" else \
                base[:, None] + gradient
        self._check_bounds(out, base, coefficients)
        assert out.shape == (n_sims, n_nodes)
        return out

    def _check_bounds(self, out: np.ndarray, base: np.ndarray,
                      coefficients: Mapping[str, np.ndarray]) -> None:
        if self.bounds is None:
            return
        low, high = self.bounds
        bad = np.argwhere((out < low) | (out > high))
        if bad.size == 0:
            return
        sim, node = (int(v) for v in bad[0])
        region = self.regions[node] if self.regions else f"region {node}"
        given = {name: float(np.asarray(coefficients[name]).reshape(-1)[sim])
                 for name in self.coefficient_names if name in coefficients}
        raise InputError(f"{self.name} = {out[sim, node]:.6g} at {region} leaves the "
                         f"parameter's range [{low:g}, {high:g}] for {self.name} = "
                         f"{base[sim]:g} and {given} ({len(bad)} value(s) out of range): "
                         f"narrow the sweep of its coefficients",
                         field=f"sweep.{self.name}")


def stack_maps(maps: Sequence[np.ndarray]) -> np.ndarray:
    """(K, N) from K maps of N values (K = 0 gives (0, 0))."""
    return np.stack(maps) if maps else np.zeros((0, 0))
