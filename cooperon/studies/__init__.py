"""Studies built on the physics of :mod:`cooperon`: comparisons, sweeps, maps, figures.

=================  ==================================================================
module             holds
=================  ==================================================================
``comparison``     the comparison at one point: the table of per-point outputs,
                   :func:`~.comparison.compare_values`, :func:`~.comparison.compare`
``schema``         the dataset vocabulary: the ``Status`` flags, ``Variable``, CF
                   attributes, provenance
``config``         TOML sweep and map configurations, validated up front
``execution``      executors (processes, threads, dask.distributed) and the one
                   submit / as-completed loop
``store``          resumable Zarr stores and their completion records
``sweeps``         :func:`~.sweeps.sweep`: a comparison on a parameter grid
``maps``           the breakdown maps of ``cooperon map``: boundaries, scaling fits
``figures``        the figures of the maps
``io``             output paths checked up front; atomic NetCDF writing
=================  ==================================================================

The physics never imports a study.
"""
