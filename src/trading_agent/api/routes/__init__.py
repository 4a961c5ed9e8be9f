"""The ``/api/v1`` routes, one module per concern; each module's ``router`` builds its ``APIRouter``.

Each router carries the full prefix itself (not ``include_router(prefix=...)``), so a matched
route's ``path`` is its whole template: the request metric labels routes by it.

A route that reads or steers the agent is ``async def``: it runs on the event loop the agent runs
on, so it is handled between two candles and never interleaves with a candle's step (a plain
``def`` would run in FastAPI's thread pool, beside the step). Routes that only read the database
(the journal, the jobs) stay plain functions and run in the pool; the analyses read the agent on
the loop and leave their database queries and computation to a worker thread.
"""

V1 = "/api/v1"
