"""Background jobs: the broker they travel through, the explicit list of actors, the
periodic sweeps, and the worker process that runs them all (``dramatiq portal.jobs.worker``)."""
