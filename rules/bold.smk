rule process_bold:
    input:
        "results/sims/{study}/shard-{shard}.npz",
    output:
        npz="results/bold/{study}/shard-{shard}.npz",
        sidecar="results/bold/{study}/shard-{shard}.npz.json",
    params:
        settings=settings_json("bold"),
        code=code_hash("bold", "io.py"),
    log:
        "logs/process_bold/{study}-{shard}.log",
    benchmark:
        "benchmarks/process_bold/{study}-{shard}.tsv"
    resources:
        runtime=10,
        mem_mb=2000,
    shell:
        "brainsweep bold --settings {params.settings:q} --shard {input} --out {output.npz}"
        " > {log} 2>&1"
