"""One action per route: who may call what.

Every route of the application carries exactly one action of
:data:`seawatch.share.roles.POLICY`, declared once with :func:`require` (a FastAPI
dependency: ``access: Annotated[Access, require(READ)]`` or
``dependencies=[require(PUBLIC)]``), or with :func:`declare` for a mounted folder (the map's
static files). The dependency authenticates the caller and checks the action
(:meth:`seawatch.api.security.Security.authorize`). :func:`route_actions` reads the actions
back from ``app.routes``, so a test builds the authorisation matrix from the application's
own route table and fails on a route without one.
"""

# No ``from __future__ import annotations``: FastAPI reads the dependency's annotations.

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request

from seawatch.share import roles

if TYPE_CHECKING:  # pragma: no cover
    from seawatch.api.security import Security


class Guard:
    """The dependency of one route: authenticates, checks its action, builds the Access.

    Returns the caller's :class:`~seawatch.share.policy.Access` (None on public routes).
    """

    def __init__(self, action: str) -> None:
        if action not in roles.POLICY:
            raise KeyError(f"action {action!r} is not in seawatch.share.roles.POLICY")
        self.action = action

    def __repr__(self) -> str:
        return f"Guard({self.action!r})"

    def __call__(self, request: Request) -> Any:
        security: Security = request.app.state.security
        return security.authorize(request, self.action)


def require(action: str) -> Any:
    """The FastAPI dependency declaring (and enforcing) a route's action.

    Use it once per route: as a parameter, ``access: Annotated[Access, require(READ)]``, or in
    ``dependencies=[require(PUBLIC)]``.
    """
    return Depends(Guard(action))


def declare(route: Any, action: str) -> Any:
    """Declare the action of a route that takes no dependencies (a mounted folder)."""
    if action not in roles.POLICY:
        raise KeyError(f"action {action!r} is not in seawatch.share.roles.POLICY")
    route.seawatch_action = action
    return route


def route_actions(route: Any) -> list[str]:
    """The actions declared on a route of ``app.routes`` (exactly one for a correct route)."""
    found: list[str] = []
    declared = getattr(route, "seawatch_action", None)
    if declared is not None:
        found.append(declared)
    dependant = getattr(route, "dependant", None)
    stack = list(dependant.dependencies) if dependant is not None else []
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Guard):
            found.append(dep.call.action)
        stack.extend(dep.dependencies)
    return found


def iter_routes(routes: Iterable[Any]) -> list[tuple[str | None, frozenset[str], Any]]:
    """``(path, methods, route)`` of every route of ``app.routes``, included routers
    expanded (their full paths), the route object being the one that carries the guard."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included routers were kept as such
        return [(getattr(r, "path", None), frozenset(getattr(r, "methods", None) or ()), r)
                for r in routes]
    return [(c.path, frozenset(c.methods or ()), c.original_route)
            for c in iter_route_contexts(list(routes))]


def operation_actions(routes: Iterable[Any]) -> dict[tuple[str, str], str]:
    """``(path, method) -> action`` of every routed operation (for the OpenAPI document)."""
    out: dict[tuple[str, str], str] = {}
    for path, methods, route in iter_routes(routes):
        actions = route_actions(route)
        if not actions or path is None:
            continue
        for method in methods:
            out[(path, method.lower())] = actions[0]
    return out


__all__ = ["Guard", "declare", "iter_routes", "operation_actions", "require", "route_actions"]
