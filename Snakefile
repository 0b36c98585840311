# brainsweep: connectome -> kernels -> simulation shards -> BOLD -> FC -> fit -> figures.
# Run the default study with `snakemake -j2`; another study with
# `snakemake -j8 --configfile config/studies/<study>.yaml`.
from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")


# The default study is read only when no --configfile is given: Snakemake would otherwise
# merge a study file into it key by key, and a study of another model would inherit the
# default's model parameters. A study file is the whole study (schema defaults fill the
# rest); --config KEY=VALUE overrides keys of either.
if not workflow.config_settings.configfiles:

    configfile: "config/config.yaml"


try:
    validate(config, "config/schema.yaml")
except WorkflowError:
    # Snakemake's message prints the whole schema (1 300 lines): the first problem, one line
    # naming the study file and the key, instead
    from brainsweep.study.schema import validate_config

    validate_config(
        config, source=", ".join(map(str, workflow.config_settings.configfiles))
    )
    raise


report: "docs/report/workflow.rst"


include: "rules/common.smk"


# a published-figure study (config/studies/rateml-fig1.yaml, ...) is one job of its own
if REPRODUCE:

    include: "rules/reproduce.smk"

else:

    include: "rules/connectome.smk"
    include: "rules/kernels.smk"
    include: "rules/simulate.smk"
    include: "rules/bold.smk"
    include: "rules/fit.smk"
    include: "rules/figures.smk"
    include: "rules/report.smk"
    include: "rules/netcdf.smk"

    if SETTINGS.recovery is not None:

        include: "rules/recovery.smk"

    if SETTINGS.optimise is not None:

        include: "rules/optimise.smk"


onstart:
    check_target_runs_here()


rule all:
    default_target: True
    input:
        get_final_outputs(),
