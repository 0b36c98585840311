# netCDF-4 twins of the shards and of the fit tables (brainsweep.export): what a user opens
# with xarray.open_dataset. The .npz and .csv files stay what the stages read; these are
# written from them, so the stages, and the checksums of their outputs, are unchanged.
wildcard_constraints:
    shard=r"\d+",
    table="scores|realisations",


NETCDF_CODE = code_hash(
    "export",
    "bold/shards.py",
    "bold/filters.py",
    "fit/units.py",
    "io.py",
    "study/units.py",
)


rule netcdf_sims:
    input:
        "results/sims/{study}/shard-{shard}.npz",
    output:
        nc="results/sims/{study}/shard-{shard}.nc",
        sidecar="results/sims/{study}/shard-{shard}.nc.json",
    log:
        "logs/netcdf_sims/{study}-{shard}.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        settings=netcdf_settings_json(),
        code=NETCDF_CODE,
    shell:
        "brainsweep netcdf --settings {params.settings:q} {input} --out {output.nc}"
        " > {log} 2>&1"


rule netcdf_bold:
    input:
        "results/bold/{study}/shard-{shard}.npz",
    output:
        nc="results/bold/{study}/shard-{shard}.nc",
        sidecar="results/bold/{study}/shard-{shard}.nc.json",
    log:
        "logs/netcdf_bold/{study}-{shard}.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        settings=netcdf_settings_json(),
        code=NETCDF_CODE,
    shell:
        "brainsweep netcdf --settings {params.settings:q} {input} --out {output.nc}"
        " > {log} 2>&1"


rule netcdf_table:
    input:
        "results/fit/{study}/{table}.csv",
    output:
        nc="results/fit/{study}/{table}.nc",
        sidecar="results/fit/{study}/{table}.nc.json",
    log:
        "logs/netcdf_table/{study}-{table}.log",
    conda:
        "../envs/cpu.yaml"
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        settings=netcdf_settings_json(),
        code=NETCDF_CODE,
    shell:
        "brainsweep netcdf --settings {params.settings:q} {input} --out {output.nc}"
        " > {log} 2>&1"
