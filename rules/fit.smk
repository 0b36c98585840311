rule fit_study:
    input:
        shards=get_bold_shards,
        empirical=f"results/empirical/{EMPIRICAL}.npz",
    output:
        scores=report(
            "results/fit/{study}/scores.csv",
            caption="../docs/report/scores.rst",
            category="Fit",
        ),
        best="results/fit/{study}/best.json",
    params:
        settings=settings_json("fit"),
        code=code_hash("fit", "io.py"),
    log:
        "logs/fit_study/{study}.log",
    benchmark:
        "benchmarks/fit_study/{study}.tsv"
    resources:
        runtime=10,
        mem_mb=2000,
    shell:
        "brainsweep fit --settings {params.settings:q} --empirical {input.empirical}"
        " --out-dir results/fit/{wildcards.study} {input.shards} > {log} 2>&1"
