# Published figures reproduced (issue 8, docs/reproductions.md): a study with a reproduce:
# section has one job, one `brainsweep reproduce` call that measures, writes the CSV and the
# machine record, and draws the figure. `snakemake -j1 --configfile config/studies/<study>.yaml`
from brainsweep.reproduce.settings import parse_settings

# the figure's defaults are filled in by brainsweep.reproduce.settings (one place); what the
# rule needs of its target (conda env, GPU or not) is the target's own
REPRODUCE_SETTINGS = parse_settings({"study": STUDY, "reproduce": config["reproduce"]})
REPRODUCE_TARGET = get_target(REPRODUCE_SETTINGS.target)
# the poster's weak scaling runs one process per GPU: the job holds as many as it uses
REPRODUCE_GPUS = (
    max(REPRODUCE_SETTINGS.gpus)
    if REPRODUCE_SETTINGS.figure == "tvbhpc-fig2" and "c" in REPRODUCE_SETTINGS.panels
    else 1
)


rule reproduce_figure:
    input:
        config["reproduce"].get(
            "connectome", "resources/tvb-connectivity/connectivity_68.zip"
        ),
    output:
        csv="results/reproduce/{study}/{study}.csv",
        figure=report(
            "results/reproduce/{study}/{study}.png",
            category="Reproductions",
        ),
        machine="results/reproduce/{study}/machine.json",
    log:
        "logs/reproduce_figure/{study}.log",
    benchmark:
        "logs/benchmarks/reproduce_figure/{study}.tsv"
    conda:
        f"../envs/{REPRODUCE_TARGET.conda_env}.yaml"
    threads: 2
    resources:
        runtime=60,
        mem_mb=16000,
        gpu=REPRODUCE_GPUS if REPRODUCE_TARGET.uses_gpu else 0,
    params:
        settings=json.dumps(
            {"study": STUDY, "reproduce": config["reproduce"]}, sort_keys=True
        ),
        code=code_hash(
            "reproduce", "bench.py", "simulate", "backends", "codegen", "dsl"
        ),
    shell:
        "NUMBA_NUM_THREADS={threads} brainsweep reproduce --settings {params.settings:q}"
        " --out-dir results/reproduce/{wildcards.study} > {log} 2>&1"
