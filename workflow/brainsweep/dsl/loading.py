"""Find and load a model by shipped name, YAML file or RateML LEMS XML file.

The one place that knows every model format: :mod:`brainsweep.dsl.model` reads YAML,
:mod:`brainsweep.dsl.lems` reads LEMS XML (and needs the model and coupling types), and this
module, above both, dispatches by name or suffix.
"""

from __future__ import annotations

from pathlib import Path

from brainsweep.dsl.lems import model_from_lems
from brainsweep.dsl.model import Model, model_from_yaml
from brainsweep.dsl.parts import kernels_dir
from brainsweep.errors import InputError

__all__ = ["list_models", "load_model"]


def list_models() -> dict[str, Path]:
    """Shipped model names (file stems and declared aliases) → their files."""
    found: dict[str, Path] = {}
    for path in sorted((kernels_dir() / "models").glob("*.yaml")):
        found[path.stem] = path
    return found


def load_model(name_or_path: str | Path) -> Model:
    """Load a shipped model by name, a ``.yaml`` model file, or a RateML LEMS ``.xml`` file."""
    if isinstance(name_or_path, Model):
        return name_or_path
    text = str(name_or_path)
    path = Path(text)
    if path.suffix.lower() == ".xml":
        return model_from_lems(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        if not path.is_file():
            raise InputError("model file not found", source=text)
        return model_from_yaml(path)
    shipped = list_models()
    key = text.lower()
    if key in shipped:
        return model_from_yaml(shipped[key])
    for stem, file in shipped.items():
        model = model_from_yaml(file)
        if key in {model.name.lower(), stem}:
            return model
    raise InputError(f"unknown model {text!r}; shipped: {sorted(shipped)}", field="model")
