# Fitting by optimisation (brainsweep.optimise, docs/fitting.md): the cohort split into
# optimise.jobs batches of subjects, one job each (a SLURM array); every generation of a job
# is one batch of simulations. A killed job rerun (--rerun-incomplete) resumes from its last
# finished generation: its state lies under results/optimise/{study}/state/, which is no
# rule's output, so Snakemake does not delete it.
OPTIMISE = SETTINGS.section("optimise")
OPTIMISE_JOBS = list(range(int(OPTIMISE.get("jobs", 1))))
# structural: subject fits each subject on its own connectome: the per-subject stack
OPTIMISE_CONNECTOME = (
    f"{CONNECTOME}-subjects.npz"
    if OPTIMISE.get("structural") == "subject"
    else f"{CONNECTOME}.npz"
)


rule build_subject_connectomes:
    input:
        config["connectome"]["source"]
        if isinstance(config["connectome"]["source"], str)
        else list(config["connectome"]["source"].values()),
    output:
        npz=f"{CONNECTOME}-subjects.npz",
        sidecar=f"{CONNECTOME}-subjects.npz.json",
    log:
        f"logs/build_connectome/{STUDY}-{SETTINGS.connectome['name']}-subjects.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        settings=json.dumps({**SETTINGS.section("connectome"), "average": "none"}),
        code=code_hash("connectome", "io.py", "regions.py", "study/schema.py"),
    shell:
        "brainsweep connectome --settings {params.settings:q} --out {output.npz} > {log} 2>&1"


rule optimise_job:
    input:
        connectome=OPTIMISE_CONNECTOME,
        empirical=EMPIRICAL,
        kernel=KERNEL,
    output:
        csv="results/optimise/{study}/jobs/job-{job}.csv",
        sidecar="results/optimise/{study}/jobs/job-{job}.csv.json",
    log:
        "logs/optimise_job/{study}-{job}.log",
    benchmark:
        "logs/benchmarks/optimise_job/{study}-{job}.tsv"
    conda:
        f"../envs/{TARGET_INFO.conda_env}.yaml"
    threads: SETTINGS.simulate.simulation.threads
    resources:
        runtime=240,
        mem_mb=8000,
        gpu=1 if TARGET_INFO.uses_gpu else 0,
    params:
        settings=json.dumps(SETTINGS.optimise_settings(), sort_keys=True),
        code=code_hash(
            "optimise",
            "simulate",
            "simulate_stage",
            "bold",
            "fit",
            "study",
            "backends",
            "codegen",
            "dsl",
            "rng.py",
            "io.py",
        ),
    shell:
        "NUMBA_NUM_THREADS={threads} brainsweep optimise --settings {params.settings:q}"
        " --connectome {input.connectome} --empirical {input.empirical}"
        " --kernel {input.kernel} --job {wildcards.job} --study {wildcards.study}"
        " --out {output.csv} > {log} 2>&1"


rule summarise_optimise:
    input:
        jobs=expand(
            "results/optimise/{study}/jobs/job-{job}.csv",
            study=STUDY,
            job=OPTIMISE_JOBS,
        ),
    output:
        history=report(
            "results/optimise/{study}/history.csv",
            caption="../docs/report/optimise_history.rst",
            category="Optimise",
        ),
        best="results/optimise/{study}/best.csv",
        convergence=report(
            f"results/figures/{{study}}/optimise_convergence.{FIGURE_FORMAT}",
            caption="../docs/report/optimise_convergence.rst",
            category="Optimise",
        ),
        parameters=report(
            f"results/figures/{{study}}/optimise_parameters.{FIGURE_FORMAT}",
            caption="../docs/report/optimise_parameters.rst",
            category="Optimise",
        ),
    log:
        "logs/summarise_optimise/{study}.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        runtime=5,
        mem_mb=2000,
    params:
        settings=settings_json("optimise"),
        code=code_hash("optimise", "figures", "io.py", "study/schema.py"),
    shell:
        "brainsweep optimise-summary --settings {params.settings:q}"
        " --out-dir results/optimise/{wildcards.study}"
        " --convergence {output.convergence} --parameters {output.parameters}"
        " {input.jobs} > {log} 2>&1"
