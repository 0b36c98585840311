# Shards run the kernel file the rule generate_kernel wrote (--kernel), refused if its spec
# hash is not the spec these settings give. Conda env and GPU resource: the target's own.
rule simulate_shard:
    input:
        connectome=f"{CONNECTOME}.npz",
        kernel=KERNEL,
        # the maps, group and label files of the regional parameters (model.regional)
        regional=SETTINGS.simulate.model.regional_files(),
    output:
        npz="results/sims/{study}/shard-{shard}.npz",
        sidecar="results/sims/{study}/shard-{shard}.npz.json",
    log:
        "logs/simulate_shard/{study}-{shard}.log",
    benchmark:
        "logs/benchmarks/simulate_shard/{study}-{shard}.tsv"
    conda:
        f"../envs/{TARGET_INFO.conda_env}.yaml"
    threads: SETTINGS.simulate.simulation.threads
    resources:
        runtime=60,
        mem_mb=4000,
        gpu=1 if TARGET_INFO.uses_gpu else 0,
    params:
        settings=settings_json(*SIMULATE_SECTIONS),
        code=code_hash(
            "simulate",
            "simulate_stage",
            "study",
            "backends",
            "codegen",
            "dsl",
            "maps",
            "fic",
            "rng.py",
            "io.py",
        ),
    shell:
        "NUMBA_NUM_THREADS={threads} brainsweep simulate --settings {params.settings:q}"
        " --connectome {input.connectome} --kernel {input.kernel} --shard-id {wildcards.shard}"
        " --out {output.npz} --memory-mb {resources.mem_mb} > {log} 2>&1"
