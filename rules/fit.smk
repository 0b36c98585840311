rule fit_study:
    input:
        shards=get_bold_shards,
        empirical=EMPIRICAL,
    output:
        # shown in the report as a table (rules/report.smk: scores_table)
        scores="results/fit/{study}/scores.csv",
        realisations="results/fit/{study}/realisations.csv",
        best="results/fit/{study}/best.json",
    log:
        "logs/fit_study/{study}.log",
    benchmark:
        "logs/benchmarks/fit_study/{study}.tsv"
    conda:
        "../envs/cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        settings=fit_settings_json(),
        code=code_hash("fit", "io.py", "study/schema.py", "study/checked.py"),
    shell:
        "brainsweep fit --settings {params.settings:q} --empirical {input.empirical}"
        " --out-dir results/fit/{wildcards.study} {input.shards} > {log} 2>&1"
