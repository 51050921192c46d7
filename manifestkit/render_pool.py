"""Both cores: the apps to render, split into runs that a process pool renders side by side when there are many.

``--jobs 1`` renders in this process; ``--jobs N`` uses N worker processes whenever there are at least two apps to
render; the default (auto) uses one per core once there are at least :data:`AUTO_THRESHOLD` apps to render on a
machine of at least :data:`AUTO_CORES` cores, and renders in this process elsewhere. The workers run the per-app
steps and write the plain files (about half of a render's work at N = 1,000: the lint of the output, the load and
the writes stay in this process); starting them and sending the objects back costs about 0.1 s of CPU in all
(bench/bench_cache.py --pool, CPU times on two cores), so the pool pays from some hundreds of apps, but only where
cores are left over: this process and the forked lint child take two, and on two cores the pool never beat the
serial render (paired runs at N = 1,000 and 10,000) while it held about 85 MB more at N = 10,000 (the objects
sent back are a second copy). Workers are forked, so they start with the loaded project and its context and nothing
is sent to them but the names of their apps. A run that raises in a worker is rendered again here, whole, so every
error is reported exactly as the serial render reports it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from manifestkit.diagnostics import ManifestkitError
from manifestkit.emit.plain import object_file
from manifestkit.model import RenderContext
from manifestkit.render_units import Run, render_run

AUTO_THRESHOLD = 500     # apps to render before auto starts workers (see the module docstring)
AUTO_CORES = 4           # cores before auto starts workers: this process and the lint child take two
RUNS_PER_WORKER = 2      # smaller runs even out the workers' loads

Batch = tuple[list[str], bool]   # (apps, whether the run adds the Project's own objects)

_CONTEXT: list[RenderContext] = []   # the context the forked workers read (set just before they fork)


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def workers(jobs: int | None, apps: int, cpus: int) -> int:
    """How many worker processes render ``apps`` apps on ``cpus`` cores: ``jobs`` as asked (None: auto); 0 renders
    here."""
    if jobs is None:
        jobs = cpus if apps >= AUTO_THRESHOLD and cpus >= AUTO_CORES else 1
    return min(jobs, apps) if jobs > 1 and apps >= 2 and _can_fork() else 0


def batches(names: Sequence[str], with_project: bool, count: int) -> list[Batch]:
    """``names`` in ``count`` runs of consecutive apps (the first also makes the Project's own objects)."""
    size = max(1, -(-len(names) // max(count, 1)))
    parts = [list(names[i:i + size]) for i in range(0, len(names), size)] or [[]]
    return [(part, with_project and i == 0) for i, part in enumerate(parts)]


def render_runs(ctx: RenderContext, names: Sequence[str], with_project: bool, jobs: int | None,
                texts: bool) -> list[tuple[Run, Batch]] | None:
    """Every app of ``names`` rendered in runs; None when a run raised (the caller renders whole)."""
    count = workers(jobs, len(names), cores())
    if count == 0:
        try:
            return [(render_run(ctx, names, with_project), (list(names), with_project))]
        except ManifestkitError:
            return None
    import concurrent.futures
    import multiprocessing

    todo = batches(names, with_project, count * RUNS_PER_WORKER)
    _CONTEXT[:] = [ctx]
    try:
        with concurrent.futures.ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork")) as pool:
            done = list(pool.map(_worker, [(apps, project, texts) for apps, project in todo]))
    finally:
        _CONTEXT.clear()
    if any(run is None for run in done):
        return None
    return [(run, batch) for run, batch in zip(done, todo, strict=True) if run is not None]


def _worker(job: tuple[list[str], bool, bool]) -> Run | None:
    apps, with_project, texts = job
    try:
        run = render_run(_CONTEXT[0], apps, with_project)
    except ManifestkitError:
        return None    # rendered again in the parent, which reports it as the serial render does
    if texts:
        run = dataclasses.replace(run, texts=tuple(object_file(r).data for r in run.resources))
    return run


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()
