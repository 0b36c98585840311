KERNEL_SUFFIX = {"numba": "py", "cuda": "cu", "opencl": "cl"}
# conda env of each target's shards (`--sdm conda`); other targets get the CPU one
CONDA_ENV = {"numba": "cpu", "cuda": "cuda", "opencl": "opencl"}


rule simulate_shard:
    input:
        connectome=f"results/connectome/{CONNECTOME}.npz",
        kernel=f"results/kernels/{MODEL}/{TARGET}.{KERNEL_SUFFIX.get(TARGET, 'txt')}",
    output:
        npz="results/sims/{study}/shard-{shard}.npz",
        sidecar="results/sims/{study}/shard-{shard}.npz.json",
    log:
        "logs/simulate_shard/{study}-{shard}.log",
    benchmark:
        "logs/benchmarks/simulate_shard/{study}-{shard}.tsv"
    conda:
        f"../envs/{CONDA_ENV.get(TARGET, 'cpu')}.yaml"
    threads: config["simulation"]["threads"]
    resources:
        runtime=60,
        mem_mb=4000,
        gpu=1 if TARGET in ("cuda",) else 0,
    params:
        settings=settings_json(*SIMULATE_SECTIONS),
        code=code_hash("simulate", "backends", "codegen", "dsl", "rng.py", "io.py"),
    shell:
        "NUMBA_NUM_THREADS={threads} brainsweep simulate --settings {params.settings:q}"
        " --connectome {input.connectome} --shard {wildcards.shard} --out {output.npz}"
        " --memory-mb {resources.mem_mb} > {log} 2>&1"


if "recovery" in config:

    rule simulate_truth:
        input:
            connectome=f"results/connectome/{CONNECTOME}.npz",
            kernel=f"results/kernels/{MODEL}/{TARGET}.{KERNEL_SUFFIX.get(TARGET, 'txt')}",
        output:
            npz="results/truth/{study}.npz",
            sidecar="results/truth/{study}.npz.json",
        log:
            "logs/simulate_truth/{study}.log",
        benchmark:
            "logs/benchmarks/simulate_truth/{study}.tsv"
        conda:
            f"../envs/{CONDA_ENV.get(TARGET, 'cpu')}.yaml"
        threads: config["simulation"]["threads"]
        resources:
            runtime=60,
            mem_mb=4000,
            gpu=1 if TARGET in ("cuda",) else 0,
        params:
            settings=truth_settings_json(),
            code=code_hash("simulate", "backends", "codegen", "dsl", "rng.py", "io.py"),
        shell:
            "NUMBA_NUM_THREADS={threads} brainsweep simulate --settings {params.settings:q}"
            " --connectome {input.connectome} --shard 0 --out {output.npz}"
            " --memory-mb {resources.mem_mb} > {log} 2>&1"
