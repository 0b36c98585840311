# The study's connectome and empirical FC, under the study's name (their settings are the
# study's: another study with the same names never overwrites them).
rule build_connectome:
    input:
        config["connectome"]["source"]
        if isinstance(config["connectome"]["source"], str)
        else list(config["connectome"]["source"].values()),
    output:
        npz=f"{CONNECTOME}.npz",
        sidecar=f"{CONNECTOME}.npz.json",
        figure=report(
            f"{CONNECTOME}.png",
            caption="../docs/report/connectome.rst",
            category="Connectome",
        ),
        figure_sidecar=f"{CONNECTOME}.png.json",
    log:
        f"logs/build_connectome/{STUDY}-{SETTINGS.connectome['name']}.log",
    benchmark:
        f"logs/benchmarks/build_connectome/{STUDY}-{SETTINGS.connectome['name']}.tsv"
    conda:
        "../envs/cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        settings=settings_json("connectome"),
        code=code_hash(
            "connectome", "io.py", "regions.py", "study/schema.py", "study/checked.py"
        ),
    shell:
        "brainsweep connectome --settings {params.settings:q} --out {output.npz}"
        " --figure {output.figure} > {log} 2>&1"


rule build_empirical:
    input:
        config["empirical"]["source"],
        # format fc: the held-out FCs, the FCD values and the labels file
        [
            *config["empirical"].get("held_out", {}).values(),
            *[
                config["empirical"][key]
                for key in ("fcd", "labels")
                if config["empirical"].get(key)
            ],
        ],
        # its regions are checked against the connectome's, label by label
        connectome=f"{CONNECTOME}.npz",
    output:
        npz=EMPIRICAL,
        sidecar=f"{EMPIRICAL}.json",
    log:
        f"logs/build_empirical/{STUDY}-{SETTINGS.empirical['name']}.log",
    benchmark:
        f"logs/benchmarks/build_empirical/{STUDY}-{SETTINGS.empirical['name']}.tsv"
    conda:
        "../envs/cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        settings=empirical_settings_json(),
        code=code_hash("empirical", "bold", "study", "io.py", "regions.py"),
    shell:
        "brainsweep empirical --settings {params.settings:q} --connectome {input.connectome}"
        " --out {output.npz} > {log} 2>&1"
