"""``brainsweep models``: every shipped model with the TVB class it reproduces."""

from __future__ import annotations

import re

from brainsweep import cli
from brainsweep.dsl import list_models, load_model

TVB_REFERENCE = re.compile(r"TVB: tvb\.simulator\.models\.[a-z_0-9]+\.([A-Za-z_0-9]+)$")


def test_every_shipped_model_names_its_tvb_class():
    """A model's name is the TVB class name (the side-by-side comparison with TVB looks the
    class up by it), and its references say which module holds that class; a model TVB does
    not ship says so ("TVB: none (what it derives from)") and names no class."""
    outside = []
    for path in list_models().values():
        model = load_model(path)
        classes = [m.group(1) for ref in model.references if (m := TVB_REFERENCE.match(ref))]
        if any(ref.startswith("TVB: none (") for ref in model.references):
            assert classes == [], f"{path.name}: {model.references}"
            outside.append(path.name)
            continue
        assert classes == [model.name], f"{path.name}: {model.references}"
    assert outside == ["hopf.yaml"]  # Deco et al. (2017)'s units, checked against SupHopf


def test_models_lists_every_model_with_its_tvb_class(capsys):
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    heads = [line for line in out.splitlines() if not line.startswith(" ")]
    models = list_models()
    # a line per model, then the couplings and the hint naming `brainsweep models NAME`
    assert len(heads) == len(models) + 2 and heads[-2].startswith("couplings: ")
    assert "brainsweep models NAME" in heads[-1]
    for head, (name, path) in zip(heads, models.items(), strict=False):
        model = load_model(path)
        assert head == (f"{name}: {model.name} ({path.name}; TVB: "
                        f"{cli.tvb_class(model)})")
        assert (cli.tvb_class(model).endswith("." + model.name)
                or cli.tvb_class(model).startswith("none ("))
    # every parameter of a model is listed under it, with its default
    montbrio = out.split("montbrio: ", 1)[1].split("\n", 1)[1]
    assert "  eta = -5  " in montbrio and "  cv = 0  " in montbrio
    assert len(models) >= 20
