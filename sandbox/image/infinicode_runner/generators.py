"""The program's generators and coroutines as the tests get them: genuine generators (and coroutines, async
generators) of the judge, each step of which is a request that runs the program's own one step, in the candidate.
"""

from __future__ import annotations

from .proxies import CandidateGone, Deadline


async def awaited(proxy):
    """A judge coroutine for a candidate coroutine: awaiting it runs the candidate's to its end, there."""
    return proxy._ic_conn.request({"op": "await", "t": proxy._ic_conn.codec.encode(proxy)})


def pull(proxy, started=False):
    """A judge generator over a candidate generator: isinstance(g, GeneratorType) holds, items come one by one;
    send, throw and close reach the candidate's. One the program already started (a coroutine it primed with
    `next`) is started here too, by the caller's `next`, which asks nothing of the candidate: `g.send(10)` then
    works as it does on the program's."""
    conn = proxy._ic_conn
    sent = thrown = item = None
    while True:
        if not started:
            try:
                if thrown is not None:
                    item = conn.request({"op": "throw", "t": conn.codec.encode(proxy), "n": thrown})
                elif sent is None:
                    item = next(proxy)
                else:
                    item = conn.callm(proxy, "send", (sent,))
            except StopIteration as stop:
                return stop.value
        started = False
        sent = thrown = None
        try:
            sent = yield item
        except GeneratorExit:
            if not conn.busy:  # g.close() in the tests; not a collection in the middle of a request
                try:
                    conn.callm(proxy, "close", ())
                except (CandidateGone, Deadline):
                    pass
            raise
        except Exception as exc:  # g.throw(ValueError("bad")) in the tests
            thrown = conn.judge_exception(exc)


async def apull(proxy):
    """A judge async generator over a candidate async generator (`async for x in agen()`): each item is awaited
    there, on the candidate's own event loop."""
    conn = proxy._ic_conn
    while True:
        try:
            item = conn.request({"op": "anext", "t": conn.codec.encode(proxy)})
        except StopAsyncIteration:
            return
        yield item
