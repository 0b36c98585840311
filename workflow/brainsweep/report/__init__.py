"""Pages of a study's Snakemake report that are not figures: the resolved configuration and
tables shown as HTML tables (a CSV would only be offered for download)."""
