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
        settings=settings_json("fit"),
        code=code_hash("fit", "io.py"),
    shell:
        "brainsweep fit --settings {params.settings:q} --empirical {input.empirical}"
        " --out-dir results/fit/{wildcards.study} {input.shards} > {log} 2>&1"


if "recovery" in config:

    rule evaluate_recovery:
        input:
            scores=f"results/fit/{STUDY}/scores.csv",
            empirical=f"results/empirical/{EMPIRICAL}.npz",
        output:
            report="results/fit/{study}/recovery.json",
            sidecar="results/fit/{study}/recovery.json.json",
            figure=report(
                "results/figures/{study}/recovery_landscape."
                + (config.get("figures") or {}).get("format", "png"),
                caption="../docs/report/recovery.rst",
                category="Recovery",
            ),
            figure_sidecar="results/figures/{study}/recovery_landscape."
            + (config.get("figures") or {}).get("format", "png")
            + ".json",
        log:
            "logs/evaluate_recovery/{study}.log",
        benchmark:
            "logs/benchmarks/evaluate_recovery/{study}.tsv"
        conda:
            "../envs/cpu.yaml"
        resources:
            runtime=5,
            mem_mb=1000,
        params:
            settings=settings_json("recovery"),
            metric=(config.get("fit") or {}).get("metric", "fc_corr"),
            code=code_hash("recovery.py", "fit", "figures", "io.py"),
        shell:
            "brainsweep recovery --settings {params.settings:q}"
            " --metric {params.metric} --scores {input.scores}"
            " --empirical {input.empirical} --out {output.report}"
            " --figure {output.figure} > {log} 2>&1"
