"""The kernels stage: write a model's generated kernel source (:mod:`.stage`)."""
