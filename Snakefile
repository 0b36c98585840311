# brainsweep: connectome -> kernels -> simulation shards -> BOLD -> FC -> fit -> figures.
# Run the default study with `snakemake -j2`; another study with
# `snakemake -j8 --configfile config/studies/<study>.yaml`.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "config/schema.yaml")


include: "rules/common.smk"
include: "rules/connectome.smk"
include: "rules/kernels.smk"
include: "rules/simulate.smk"
include: "rules/bold.smk"
include: "rules/fit.smk"
include: "rules/figures.smk"


rule all:
    default_target: True
    input:
        get_final_outputs(),
