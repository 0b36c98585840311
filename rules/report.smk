# Report pages that are not figures: the study's configuration as it ran (its own report
# item, so the landing page keeps to the study's title, description and rule graph) and the
# scores as an HTML table (the report would only offer a CSV for download).
# Writing one YAML file from the config in memory is not worth a cluster job.
localrules:
    study_config,


rule study_config:
    output:
        yaml="results/config/{study}.yaml",
        page=report(
            "results/config/{study}.html",
            caption="../docs/report/config.rst",
            category="Study",
        ),
    log:
        "logs/study_config/{study}.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        settings=json.dumps(config, sort_keys=True),
        code=code_hash("report", "io.py", "study/schema.py"),
    shell:
        "brainsweep study-config --settings {params.settings:q} --out {output.yaml}"
        " --page {output.page} > {log} 2>&1"


rule scores_table:
    input:
        "results/fit/{study}/scores.csv",
    output:
        report(
            "results/fit/{study}/scores.html",
            caption="../docs/report/scores.rst",
            category="Fit",
        ),
    log:
        "logs/scores_table/{study}.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        settings=figure_settings_json(),
        code=code_hash("report", "figures/labels.py", "io.py"),
    shell:
        "brainsweep table --settings {params.settings:q} --scores {input} --out {output}"
        " > {log} 2>&1"
