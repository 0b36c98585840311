# Parameter recovery (brainsweep.recovery, docs/recovery.md): a study with a recovery:
# section simulates its planted truth (one shard, the truth's own seed) with the study's
# kernel, reads it as its empirical data, and compares the best fit with the truth.
rule simulate_truth:
    input:
        connectome=f"{CONNECTOME}.npz",
        kernel=KERNEL,
    output:
        npz="results/truth/{study}.npz",
        sidecar="results/truth/{study}.npz.json",
    log:
        "logs/simulate_truth/{study}.log",
    benchmark:
        "logs/benchmarks/simulate_truth/{study}.tsv"
    conda:
        f"../envs/{TARGET_INFO.conda_env}.yaml"
    threads: SETTINGS.simulate.simulation.threads
    resources:
        runtime=60,
        mem_mb=4000,
        gpu=1 if TARGET_INFO.uses_gpu else 0,
    params:
        settings=truth_settings_json(),
        code=code_hash(
            "simulate",
            "simulate_stage",
            "study",
            "backends",
            "codegen",
            "dsl",
            "rng.py",
            "io.py",
        ),
    shell:
        "NUMBA_NUM_THREADS={threads} brainsweep simulate --settings {params.settings:q}"
        " --connectome {input.connectome} --kernel {input.kernel} --shard-id 0"
        " --out {output.npz} --memory-mb {resources.mem_mb} > {log} 2>&1"


rule evaluate_recovery:
    input:
        scores=f"results/fit/{STUDY}/scores.csv",
        empirical=EMPIRICAL,
    output:
        report="results/fit/{study}/recovery.json",
        sidecar="results/fit/{study}/recovery.json.json",
        figure=report(
            f"results/figures/{{study}}/recovery_landscape.{FIGURE_FORMAT}",
            caption="../docs/report/recovery.rst",
            category="Recovery",
        ),
        figure_sidecar=f"results/figures/{{study}}/recovery_landscape.{FIGURE_FORMAT}.json",
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
        metric=SETTINGS.fit["metric"],
        code=code_hash("recovery", "fit", "figures", "io.py", "study/schema.py"),
    shell:
        "brainsweep recovery --settings {params.settings:q}"
        " --metric {params.metric} --scores {input.scores}"
        " --empirical {input.empirical} --out {output.report}"
        " --figure {output.figure} > {log} 2>&1"
