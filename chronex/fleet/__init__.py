"""Fleets on Dask: many simulated days, re-runs and scenario shards (docs/fleets.md).

    plan.py      DayTask, seeds and sessions: what a fleet will run, resolved on the client
    days.py      what a worker runs: simulate_day, rerun_log, verify_log (picklable in and out)
    atomic.py    outputs written under .partial/ and moved into place whole
    cluster.py   a client on a LocalCluster or a named scheduler; run_tasks with live progress
    manifest.py  fleet.json (head hashes in (date, seed) order) and the pandas summary
    shards.py    chronex run --shards: feature files balanced over workers, reports merged

Modules are imported one by one (nothing here), so a worker unpickling a task loads only what the
task needs.
"""
