"""``/api/v1/alerts`` (the watch's alerts and their life cycle) and ``/api/v1/alert-rules``
(the rules that raise them). The work is :mod:`seawatch.share.alerts`.

Reading (``data.read``): a caller sees an alert exactly when it may see the alert's event
(the events' own policy), and the rules of its own agency (the host's members: every rule).
Acting on an alert (``alert.acknowledge``, ``alert.assign``, ``alert.close``) is for the
staff of the alert's agency (its rule's); managing rules (``alert.rule``) for its admins and
analysts. An alert or rule the caller may not see answers 404 like an unknown one; one it
sees but does not own, 403; a step its state does not allow, 409. Each request is one entry
of the audit log, with the alert and its state before and after.
"""

# No ``from __future__ import annotations``: FastAPI reads the parameter annotations.

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from seawatch import schema
from seawatch.api import models
from seawatch.api.audit import note_params
from seawatch.api.params import parse_choices, parse_window
from seawatch.api.policy import require
from seawatch.api.query import StoreQuery
from seawatch.api.rest.common import (
    PAGE_MAX,
    SHARING_ERRORS,
    EventEndQ,
    EventStartQ,
    OffsetQ,
    TypeQ,
    page_members,
    security,
)
from seawatch.share import roles
from seawatch.share.policy import Access

ALERTS_PAGE_DEFAULT = 100
"""Default page of alerts."""
ID_MAX = 2**62
"""Largest alert or rule id accepted in a path."""

AlertIdPath = Annotated[int, Path(ge=1, le=ID_MAX, description="The alert's id.")]
RuleIdPath = Annotated[int, Path(ge=1, le=ID_MAX, description="The rule's id.")]
ONE_ALERT: dict[int | str, dict[str, Any]] = {
    **SHARING_ERRORS,
    403: {"model": models.Error, "description": "The alert belongs to another agency."},
    404: {"model": models.Error, "description": "No such alert (or not visible)."},
}
STEP: dict[int | str, dict[str, Any]] = {
    **ONE_ALERT,
    409: {"model": models.Error, "description": "The alert's state does not allow this step."},
}
ONE_RULE: dict[int | str, dict[str, Any]] = {
    **SHARING_ERRORS, 404: {"model": models.Error, "description": "No such rule."},
}


def add_routes(router: APIRouter, query: StoreQuery) -> None:
    """Add the ``/alerts`` and ``/alert-rules`` routes to the ``/api/v1`` router."""
    from seawatch.share import alerts as al

    def state(request: Request) -> Any:
        return security(request).state

    @router.get("/alerts", tags=["alerts"], summary="Alerts, newest event first",
                response_model=models.AlertPage, responses=SHARING_ERRORS)
    def alerts(
        request: Request,
        access: Annotated[Access, require(roles.READ)],
        state_: Annotated[str | None, Query(alias="state", description=(
            "States, comma-separated: new, acknowledged, assigned, closed; or open "
            "(every state but closed)."))] = None,
        rule: Annotated[str | None, Query(max_length=128, description=(
            "Rule id or name."))] = None,
        type: TypeQ = None,
        assigned: Annotated[str | None, Query(max_length=64, description=(
            "Assigned to this user."))] = None,
        watch: Annotated[str | None, Query(max_length=64, description=(
            "On this watch (shift)."))] = None,
        start: EventStartQ = None,
        end: EventEndQ = None,
        limit: Annotated[int, Query(ge=1, le=PAGE_MAX, description=(
            f"Alerts per page, at most {PAGE_MAX:,}."))] = ALERTS_PAGE_DEFAULT,
        offset: OffsetQ = 0,
    ) -> Response:
        """Alerts whose event the caller may see, filtered, newest event first; counted and
        paged after the visibility filter."""
        wanted = None
        if state_ is not None:
            names = [s.strip() for s in state_.split(",") if s.strip()]
            wanted = sorted({x for n in names
                             for x in (al.OPEN_STATES if n == "open" else (n,))})
            parse_choices(",".join(wanted), al.ALERT_STATES, "state")
        types = parse_choices(type, schema.EVENT_TYPES, "type")
        lo, hi = parse_window(start, end)
        total, page = al.alert_page(state(request), access, limit=limit, offset=offset,
                                    states=wanted, rule=rule, types=types,
                                    assigned_to=assigned, watch=watch, start=lo, end=hi)
        return JSONResponse({"items": [a.as_json() for a in page],
                             **page_members(total, limit, offset)})

    @router.get("/alerts/{alert_id}", tags=["alerts"], summary="One alert",
                response_model=models.AlertOut, responses=ONE_ALERT)
    def alert(
        request: Request,
        access: Annotated[Access, require(roles.READ)],
        alert_id: AlertIdPath,
    ) -> Response:
        """The alert: its rule, its copy of the event and where it stands in the life
        cycle."""
        return JSONResponse(al.get_alert(state(request), alert_id, access).as_json())

    def step(request: Request, access: Access, alert_id: int, verb: str, run: Any,
             **extra: Any) -> Response:
        before = al.get_alert(state(request), alert_id, access).state
        after = run()
        note_params(request, **al.transition_params(before, after, verb=verb, **extra))
        return JSONResponse(after.as_json())

    @router.post("/alerts/{alert_id}/acknowledge", tags=["alerts"],
                 summary="Acknowledge a new alert", response_model=models.AlertOut,
                 responses=STEP)
    def acknowledge(
        request: Request,
        access: Annotated[Access, require(roles.ALERT_ACK)],
        alert_id: AlertIdPath,
    ) -> Response:
        """new → acknowledged."""
        return step(request, access, alert_id, "acknowledge",
                    lambda: al.acknowledge(state(request), alert_id, access=access))

    @router.post("/alerts/{alert_id}/assign", tags=["alerts"], summary="Assign an alert",
                 response_model=models.AlertOut, responses=STEP)
    def assign(
        request: Request,
        access: Annotated[Access, require(roles.ALERT_ASSIGN)],
        alert_id: AlertIdPath,
        body: Annotated[models.AssignRequest, Body()],
    ) -> Response:
        """new, acknowledged or assigned → assigned to a user of the alert's agency who may
        act on alerts, optionally on a watch."""
        return step(request, access, alert_id, "assign",
                    lambda: al.assign(state(request), alert_id, body.user, watch=body.watch,
                                      access=access), user=body.user, watch=body.watch)

    @router.post("/alerts/{alert_id}/close", tags=["alerts"], summary="Close an alert",
                 response_model=models.AlertOut, responses=STEP)
    def close(
        request: Request,
        access: Annotated[Access, require(roles.ALERT_CLOSE)],
        alert_id: AlertIdPath,
        body: Annotated[models.CloseRequest, Body()],
    ) -> Response:
        """Any open state → closed, with a reason (resolved, false_positive,
        legitimate_activity, duplicate, referred, no_action) and a note."""
        return step(request, access, alert_id, "close",
                    lambda: al.close(state(request), alert_id, body.reason, body.note,
                                     access=access), reason=body.reason, note=body.note)

    @router.post("/alerts/{alert_id}/reopen", tags=["alerts"], summary="Reopen an alert",
                 response_model=models.AlertOut, responses=STEP)
    def reopen(
        request: Request,
        access: Annotated[Access, require(roles.ALERT_CLOSE)],
        alert_id: AlertIdPath,
    ) -> Response:
        """closed → acknowledged (assigned when it has an assignee)."""
        return step(request, access, alert_id, "reopen",
                    lambda: al.reopen(state(request), alert_id, access=access))

    @router.post("/alerts/handover", tags=["alerts"],
                 summary="Hand a watch's open alerts over", response_model=models.HandoverOut,
                 responses={**SHARING_ERRORS,
                            404: {"model": models.Error, "description": "No such user."}})
    def handover(
        request: Request,
        access: Annotated[Access, require(roles.ALERT_ASSIGN)],
        body: Annotated[models.HandoverRequest, Body()],
    ) -> Response:
        """The open alerts of the caller's agency on ``from_watch`` and/or assigned to
        ``from_user`` move to ``to_watch`` and/or ``to_user``, with a note."""
        moved = al.handover(state(request), from_watch=body.from_watch,
                            from_user=body.from_user, to_watch=body.to_watch,
                            to_user=body.to_user, note=body.note, access=access)
        note_params(request, verb="handover", from_watch=body.from_watch,
                    from_user=body.from_user, to_watch=moved.to_watch, to_user=moved.to_user,
                    note=body.note, alerts=list(moved.alert_ids))
        return JSONResponse({"alerts": list(moved.alert_ids), "to_watch": moved.to_watch,
                             "to_user": moved.to_user, "note": moved.note})

    # --- rules ----------------------------------------------------------------------------

    @router.get("/alert-rules", tags=["alerts"], summary="Alert rules",
                response_model=models.AlertRuleList, responses=SHARING_ERRORS)
    def rules(
        request: Request,
        access: Annotated[Access, require(roles.READ)],
    ) -> Response:
        """The rules of the caller's agency (the host's members: every rule)."""
        rows = al.list_rules(state(request), agency=None if access.full else access.agency)
        return JSONResponse({"items": [r.as_json() for r in rows]})

    @router.get("/alert-rules/{rule_id}", tags=["alerts"], summary="One alert rule",
                response_model=models.AlertRuleOut, responses=ONE_RULE)
    def rule_get(
        request: Request,
        access: Annotated[Access, require(roles.READ)],
        rule_id: RuleIdPath,
    ) -> Response:
        """A rule of the caller's agency (the host's members: any)."""
        return JSONResponse(al.get_rule(state(request), rule_id, access.principal).as_json())

    @router.post("/alert-rules", tags=["alerts"], summary="Create an alert rule",
                 status_code=201, response_model=models.AlertRuleOut,
                 responses={**SHARING_ERRORS, 409: {"model": models.Error,
                                                    "description": "The name is taken."}})
    def rule_create(
        request: Request,
        access: Annotated[Access, require(roles.ALERT_RULE)],
        body: Annotated[models.AlertRuleRequest, Body()],
    ) -> Response:
        """A rule of the caller's agency; its alerts are raised by the next detection."""
        created = al.add_rule(
            state(request), body.name, event_types=body.event_types, zones=body.zones,
            mmsis=body.mmsis, watchlist_id=body.watchlist_id, min_score=body.min_score,
            vessel_types=body.vessel_types, enabled=body.enabled, note=body.note,
            principal=access.principal,
        )
        note_params(request, verb="add", rule=created.id, name=created.name)
        return JSONResponse(created.as_json(), status_code=201)

    @router.patch("/alert-rules/{rule_id}", tags=["alerts"], summary="Change an alert rule",
                  response_model=models.AlertRuleOut, responses=ONE_RULE)
    def rule_update(
        request: Request,
        access: Annotated[Access, require(roles.ALERT_RULE)],
        rule_id: RuleIdPath,
        body: Annotated[models.AlertRulePatch, Body()],
    ) -> Response:
        """Change the criteria given in the body (the others stay)."""
        changes = body.model_dump(exclude_unset=True)
        if changes.get("enabled", True) is None:
            changes.pop("enabled")
        if changes.get("note", "") is None:
            changes.pop("note")
        changed = al.update_rule(state(request), rule_id, principal=access.principal,
                                 **changes)
        note_params(request, verb="update", rule=rule_id, **changes)
        return JSONResponse(changed.as_json())

    @router.delete("/alert-rules/{rule_id}", tags=["alerts"], summary="Remove an alert rule",
                   response_model=models.Removed, responses=ONE_RULE)
    def rule_remove(
        request: Request,
        access: Annotated[Access, require(roles.ALERT_RULE)],
        rule_id: RuleIdPath,
    ) -> Response:
        """Remove the rule and its alerts."""
        gone = al.remove_rule(state(request), rule_id, access.principal)
        note_params(request, verb="remove", rule=rule_id, alerts_removed=gone)
        return JSONResponse({"removed": rule_id, "alerts_removed": gone})
