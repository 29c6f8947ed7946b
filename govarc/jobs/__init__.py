"""Jobs: lists of steps run per agency, each step in its own failure boundary (the nightly job).

``steps`` (the Step protocol and its results), ``runner`` (one agency's steps: boundaries,
dependencies, locks, timing), ``report`` (a run's report and run log), ``nightly`` (the nightly
job), and one module per step (``ingest_step``, ``package_step``).
"""
