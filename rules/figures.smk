rule plot_figures:
    input:
        scores=f"results/fit/{STUDY}/scores.csv",
        empirical=EMPIRICAL,
        shards=get_bold_shards,
    output:
        landscapes=report(
            figure_outputs("landscapes"),
            caption="../docs/report/landscape.rst",
            category="Fit",
            subcategory="Score landscapes",
        ),
        fc=report(
            figure_outputs("fc"),
            caption="../docs/report/fc_comparison.rst",
            category="Fit",
            subcategory="Best fit",
        ),
        fcd=report(
            figure_outputs("fcd"),
            caption="../docs/report/fcd_distribution.rst",
            category="Fit",
            subcategory="Best fit",
        ),
        sidecars=[f"{path}.json" for path in figure_outputs()],
    log:
        f"logs/plot_figures/{STUDY}.log",
    benchmark:
        f"logs/benchmarks/plot_figures/{STUDY}.tsv"
    conda:
        "../envs/cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        settings=figure_settings_json(),
        code=code_hash("figures", "io.py", "study/schema.py", "study/checked.py"),
    shell:
        "brainsweep figures --settings {params.settings:q} --scores {input.scores}"
        f" --empirical {{input.empirical}} --out-dir results/figures/{STUDY}"
        " {input.shards} > {log} 2>&1"


rule landscape_page:
    input:
        scores=f"results/fit/{STUDY}/scores.csv",
        empirical=EMPIRICAL,
        shards=get_bold_shards,
    output:
        report(
            f"results/figures/{STUDY}/landscape.html",
            caption="../docs/report/landscape_page.rst",
            category="Fit",
            subcategory="Score landscapes",
        ),
    log:
        f"logs/landscape_page/{STUDY}.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        settings=figure_settings_json(),
        # the page's script is not Python: named so that editing it remakes the page
        code=code_hash(
            "figures", "figures/landscape.js", "io.py", "regions.py", "study/schema.py"
        ),
    shell:
        "brainsweep landscape --settings {params.settings:q} --scores {input.scores}"
        " --empirical {input.empirical} --out {output} {input.shards} > {log} 2>&1"
