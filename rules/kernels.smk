# The study's kernel, generated from its model file, the couplings file and every template
# the target renders (inputs: editing any of them regenerates it, and reruns the shards that
# run it); its settings are exactly what the kernel is made of (Study.kernel_settings).
rule generate_kernel:
    input:
        **kernel_files(),
    output:
        KERNEL,
    log:
        f"logs/generate_kernel/{STUDY}-{MODEL}.log",
    benchmark:
        f"logs/benchmarks/generate_kernel/{STUDY}-{MODEL}.tsv"
    conda:
        "../envs/cpu.yaml"
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        settings=kernel_settings_json(),
        target=TARGET,
        code=code_hash("dsl", "codegen", "backends", "study"),
    shell:
        "brainsweep kernels --settings {params.settings:q} --target {params.target}"
        " --out {output} > {log} 2>&1"
