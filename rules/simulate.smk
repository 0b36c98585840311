KERNEL_SUFFIX = {"numba": "py", "cuda": "cu", "opencl": "cl"}


rule simulate_shard:
    input:
        connectome=f"results/connectome/{CONNECTOME}.npz",
        kernel=f"results/kernels/{MODEL}/{TARGET}.{KERNEL_SUFFIX.get(TARGET, 'txt')}",
    output:
        npz="results/sims/{study}/shard-{shard}.npz",
        sidecar="results/sims/{study}/shard-{shard}.npz.json",
    params:
        settings=settings_json(*SIMULATE_SECTIONS),
        code=code_hash("simulate", "backends", "codegen", "dsl", "rng.py", "io.py"),
    threads: config["simulation"]["threads"]
    log:
        "logs/simulate_shard/{study}-{shard}.log",
    benchmark:
        "benchmarks/simulate_shard/{study}-{shard}.tsv"
    resources:
        runtime=60,
        mem_mb=4000,
        gpu=1 if TARGET in ("cuda",) else 0,
    shell:
        "NUMBA_NUM_THREADS={threads} brainsweep simulate --settings {params.settings:q}"
        " --connectome {input.connectome} --shard {wildcards.shard} --out {output.npz}"
        " > {log} 2>&1"
