"""Solving many tasks at once: each in its own thread, one model shared by all of them.

    solve_many(tasks, generator, sandbox, folder_of=lambda task: root / task.name, parallel=16, samples=4, ...)

With an in-process model (one that has `sample_many`), the threads' sampling calls go through a
`BatchingProvider`, so round-0 prompts of several tasks, and the refinement prompts of a round, are sampled in
one batch; a model server batches concurrent requests itself. The sandbox judges one task's candidates while
the others are sampled. `bench`, `improve` and the benchmarks all solve their tasks through here.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from agent.orchestrator import SolveResult, solve_task


class Stopped(Exception):
    """Raised in a task still running when the others stop because one of them failed."""


def shared_generator(generator, parallel: int, rows_per_task: int):
    """The generator the task threads share: batched when it is an in-process model and tasks run together."""
    from agent.provider.batching import BatchingProvider

    if isinstance(generator, BatchingProvider):  # already shared (benchmarks choose its settings)
        return generator
    if parallel > 1 and callable(getattr(generator, "sample_many", None)):
        return BatchingProvider(generator, max_rows=parallel * rows_per_task)
    return generator


def solve_many(tasks: list, generator, sandbox, folder_of: Callable[[object], Path], parallel: int = 16,
               on_event: Callable[[object, dict], None] | None = None,
               on_done: Callable[[object, SolveResult], None] | None = None,
               round0_from: Callable[[object], Path | None] | None = None, **solve_kwargs) -> list[SolveResult]:
    """`solve_task` on every task, `parallel` at a time; results in the order of `tasks`.

    round0_from(task), when given, is the run folder whose round 0 the task's run takes (solve_task's round0_from).

    on_event(task, event) sees each task's events; on_done(task, result) runs as each task finishes. When one
    task raises (a model server down, Ctrl-C), no other starts and those running stop sampling and stop at their
    next event; every candidate judged so far stays in its run folder, so the same call resumes after it.
    """
    parallel = max(1, min(parallel, len(tasks)))
    shared = shared_generator(generator, parallel, int(solve_kwargs.get("samples") or 8))
    stopping = False

    def solve(task) -> SolveResult:
        def event(e: dict) -> None:
            if stopping:
                raise Stopped
            if on_event:
                on_event(task, e)

        result = solve_task(task, shared, sandbox, folder_of(task), on_event=event,
                            round0_from=round0_from(task) if round0_from else None, **solve_kwargs)
        if on_done:
            on_done(task, result)
        return result

    if parallel == 1:
        return [solve(task) for task in tasks]
    with ThreadPoolExecutor(parallel, thread_name_prefix="task") as pool:
        futures = {pool.submit(solve, task): i for i, task in enumerate(tasks)}
        results: list[SolveResult | None] = [None] * len(tasks)
        try:
            for future in as_completed(futures):
                results[futures[future]] = future.result()
        except BaseException:
            stopping = True
            stop_sampling(shared, futures)
            raise
    return results


def stop_sampling(shared, futures) -> None:
    """A run is stopping: no queued task starts, and the running ones stop sampling within a decoding step
    (an in-process model's batch is cancelled; a server's requests end with their candidates)."""
    for future in futures:
        future.cancel()
    cancel = getattr(shared, "cancel", None)
    if callable(cancel):
        cancel()
