"""Read-model caches outside the process: ``system.cache.redis`` (needs the ``redis`` extra)."""
