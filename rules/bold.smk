rule process_bold:
    input:
        "results/sims/{study}/shard-{shard}.npz",
    output:
        npz="results/bold/{study}/shard-{shard}.npz",
        sidecar="results/bold/{study}/shard-{shard}.npz.json",
    log:
        "logs/process_bold/{study}-{shard}.log",
    benchmark:
        "logs/benchmarks/process_bold/{study}-{shard}.tsv"
    conda:
        "../envs/cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        settings=settings_json("bold"),
        code=code_hash("bold", "io.py", "study/schema.py", "study/checked.py"),
    shell:
        "brainsweep bold --settings {params.settings:q} --shard-file {input} --out {output.npz}"
        " > {log} 2>&1"
