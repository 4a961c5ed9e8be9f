"""The ``/api/v1`` routes, one module per concern; each module's ``router`` builds its ``APIRouter``.

Each router carries the full prefix itself (not ``include_router(prefix=...)``), so a matched
route's ``path`` is its whole template: the request metric labels routes by it.
"""

V1 = "/api/v1"
