rule plot_figures:
    input:
        scores=f"results/fit/{STUDY}/scores.csv",
        empirical=f"results/empirical/{EMPIRICAL}.npz",
        shards=get_bold_shards,
    output:
        report(
            figure_outputs(),
            caption="../docs/report/figures.rst",
            category="Figures",
        ),
    log:
        f"logs/plot_figures/{STUDY}.log",
    benchmark:
        f"benchmarks/plot_figures/{STUDY}.tsv"
    conda:
        "../envs/cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        settings=settings_json("figures"),
        code=code_hash("figures", "io.py"),
    shell:
        "brainsweep figures --settings {params.settings:q} --scores {input.scores}"
        f" --empirical {{input.empirical}} --out-dir results/figures/{STUDY}"
        " {input.shards} > {log} 2>&1"
