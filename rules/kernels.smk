rule generate_kernel:
    output:
        "results/kernels/{model}/{target}.{suffix}",
    log:
        "logs/generate_kernel/{model}-{target}-{suffix}.log",
    benchmark:
        "logs/benchmarks/generate_kernel/{model}-{target}-{suffix}.tsv"
    conda:
        "../envs/cpu.yaml"
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        settings=settings_json("model", "coupling", "integration"),
        code=code_hash("dsl", "codegen", "backends"),
    shell:
        "brainsweep kernels --settings {params.settings:q} --target {wildcards.target}"
        " --out {output} > {log} 2>&1"
