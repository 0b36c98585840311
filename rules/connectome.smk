rule build_connectome:
    input:
        config["connectome"]["source"]
        if isinstance(config["connectome"]["source"], str)
        else list(config["connectome"]["source"].values()),
    output:
        npz="results/connectome/{name}.npz",
        sidecar="results/connectome/{name}.npz.json",
        figure=report(
            "results/connectome/{name}.png",
            caption="../docs/report/connectome.rst",
            category="Connectome",
        ),
        figure_sidecar="results/connectome/{name}.png.json",
    log:
        "logs/build_connectome/{name}.log",
    benchmark:
        "logs/benchmarks/build_connectome/{name}.tsv"
    conda:
        "../envs/cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        settings=settings_json("connectome"),
        code=code_hash("connectome", "io.py", "regions.py"),
    shell:
        "brainsweep connectome --settings {params.settings:q} --out {output.npz}"
        " --figure {output.figure} > {log} 2>&1"


rule build_empirical:
    input:
        config["empirical"]["source"],
    output:
        npz="results/empirical/{name}.npz",
        sidecar="results/empirical/{name}.npz.json",
    log:
        "logs/build_empirical/{name}.log",
    benchmark:
        "logs/benchmarks/build_empirical/{name}.tsv"
    conda:
        "../envs/cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        settings=empirical_settings_json(),
        code=code_hash("empirical.py", "bold", "io.py", "regions.py"),
    shell:
        "brainsweep empirical --settings {params.settings:q} --out {output.npz} > {log} 2>&1"
