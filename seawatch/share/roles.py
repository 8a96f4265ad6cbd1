"""Who may do what: the :class:`Principal` making a request and the role × action table.

:data:`POLICY` maps every action to the roles allowed to do it. The API attaches one action to
each route (``Depends(require_action(POLICY_ACTION))``) and a test checks that every route has
one; the CLI runs as the local operator (``principal=None``), who may do everything.

The table answers "may this role do this kind of thing at all". What data a read returns is
decided separately by :func:`seawatch.share.policy.access_for` (own agency, live grants,
markings), and the functions that change state check the agency as well: an admin manages only
its own agency's users and grants, and only the host agency's admins manage agencies or grant
the host's data.

Examples
--------
>>> p = Principal(user_id=7, username="ana", agency="FAE", role="partner_viewer")
>>> allowed(p, READ), allowed(p, ALERT_ACK)
(True, False)
>>> allowed(None, PUBLIC), allowed(None, READ)
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass

from seawatch.share.errors import AuthenticationError, Forbidden

ADMIN = "admin"
ANALYST = "analyst"
WATCH_OFFICER = "watch_officer"
PARTNER_VIEWER = "partner_viewer"
ROLES: tuple[str, ...] = (ADMIN, ANALYST, WATCH_OFFICER, PARTNER_VIEWER)
"""The four roles (one per user)."""
ANONYMOUS = "anonymous"
"""Pseudo-role of a request without credentials (only :data:`PUBLIC` routes)."""

# --- actions (what a route does) ---------------------------------------------------------
PUBLIC = "public"
"""No authentication: health check, login form, static assets of the map."""
SESSION = "session"
"""Log in / out, who am I."""
READ = "data.read"
"""Read events, alerts, positions, vessels, zones, statistics (filtered by the caller's
:class:`~seawatch.share.policy.Access`)."""
EXPORT = "data.export"
"""Download an export (filtered, and stamped with its marking)."""
ALERT_ACK = "alert.acknowledge"
"""Acknowledge an alert of the caller's agency."""
ALERT_ASSIGN = "alert.assign"
"""Assign an alert of the caller's agency to someone; hand a watch's open alerts over."""
ALERT_CLOSE = "alert.close"
"""Close an alert of the caller's agency (with a reason and a note), or reopen it."""
ALERT_RULE = "alert.rule"
"""Create, change and remove the caller's agency's alert rules."""
MARKING_SET = "marking.set"
"""Set the marking of an object the caller's agency owns."""
GRANT_LIST = "grant.list"
"""List the grants the caller's agency gave or received (the host's admins: all)."""
GRANT_CREATE = "grant.create"
"""Grant another agency read access to the caller's agency's data."""
GRANT_REVOKE = "grant.revoke"
"""Revoke a grant the caller's agency gave (the host's admins: any grant)."""
AGENCY_LIST = "agency.list"
"""List agencies."""
AGENCY_MANAGE = "agency.manage"
"""Create agencies (host agency's admins only)."""
USER_LIST = "user.list"
"""List users of the caller's agency (the host's admins: all)."""
USER_MANAGE = "user.manage"
"""Create, disable users, reset passwords in the caller's agency (host admins: any)."""
TOKEN_SELF = "token.self"
"""Create, list and revoke one's own API tokens."""
TOKEN_MANAGE = "token.manage"
"""Create and revoke tokens of other users of the caller's agency."""
AUDIT_READ = "audit.read"
"""Read the audit log (the caller's agency's entries; the host's admins: all)."""
AUDIT_VERIFY = "audit.verify"
"""Verify the audit chain."""

ACTIONS: tuple[str, ...] = (
    PUBLIC, SESSION, READ, EXPORT, ALERT_ACK, ALERT_ASSIGN, ALERT_CLOSE, ALERT_RULE,
    MARKING_SET, GRANT_LIST,
    GRANT_CREATE, GRANT_REVOKE, AGENCY_LIST, AGENCY_MANAGE, USER_LIST, USER_MANAGE, TOKEN_SELF,
    TOKEN_MANAGE, AUDIT_READ, AUDIT_VERIFY,
)
"""Every action a route can carry (each has a row in :data:`POLICY`)."""

_ALL = frozenset(ROLES)
_STAFF = frozenset({ADMIN, ANALYST, WATCH_OFFICER})

POLICY: dict[str, set[str]] = {
    PUBLIC: {ANONYMOUS, *ROLES},
    SESSION: set(_ALL),
    READ: set(_ALL),
    EXPORT: set(_ALL),
    ALERT_ACK: set(_STAFF),
    ALERT_ASSIGN: set(_STAFF),
    ALERT_CLOSE: set(_STAFF),
    ALERT_RULE: {ADMIN, ANALYST},
    MARKING_SET: {ADMIN, ANALYST},
    GRANT_LIST: set(_ALL),
    GRANT_CREATE: {ADMIN},
    GRANT_REVOKE: {ADMIN},
    AGENCY_LIST: {ADMIN},
    AGENCY_MANAGE: {ADMIN},
    USER_LIST: {ADMIN},
    USER_MANAGE: {ADMIN},
    TOKEN_SELF: set(_ALL),
    TOKEN_MANAGE: {ADMIN},
    AUDIT_READ: {ADMIN},
    AUDIT_VERIFY: {ADMIN},
}
"""Action → the roles allowed to do it (``ANONYMOUS`` where no login is needed).

=====================  =====  =======  =============  ==============
action                 admin  analyst  watch_officer  partner_viewer
=====================  =====  =======  =============  ==============
public                 yes    yes      yes            yes (and anonymous)
session                yes    yes      yes            yes
data.read              yes    yes      yes            yes
data.export            yes    yes      yes            yes
alert.acknowledge      yes    yes      yes            no
alert.assign           yes    yes      yes            no
alert.close            yes    yes      yes            no
alert.rule             yes    yes      no             no
marking.set            yes    yes      no             no
grant.list             yes    yes      yes            yes
grant.create           yes    no       no             no
grant.revoke           yes    no       no             no
agency.list            yes    no       no             no
agency.manage          yes    no       no             no
user.list              yes    no       no             no
user.manage            yes    no       no             no
token.self             yes    yes      yes            yes
token.manage           yes    no       no             no
audit.read             yes    no       no             no
audit.verify           yes    no       no             no
=====================  =====  =======  =============  ==============
"""

WRITE_ACTIONS: frozenset[str] = frozenset(
    {ALERT_ACK, ALERT_ASSIGN, ALERT_CLOSE, ALERT_RULE, MARKING_SET, GRANT_CREATE,
     GRANT_REVOKE, AGENCY_MANAGE, USER_MANAGE, TOKEN_SELF, TOKEN_MANAGE}
)
"""Actions that change state (``partner_viewer`` reads only: it has none but its own tokens)."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request.

    Parameters
    ----------
    user_id, username
        The user.
    agency
        Name of the user's agency.
    role
        One of :data:`ROLES`.
    auth_method
        ``'token'``, ``'session'``, ``'password'`` or ``'local'`` (the CLI operator).
    is_host
        The user's agency is the store's host agency (it owns the store's data).
    """

    user_id: int
    username: str
    agency: str
    role: str
    auth_method: str = "token"
    is_host: bool = False

    @property
    def is_host_admin(self) -> bool:
        """An admin of the host agency (manages agencies and grants on the host's data)."""
        return self.is_host and self.role == ADMIN


LOCAL_OPERATOR = "local"
"""Who a change is recorded as made by when no principal made it (the command line)."""


def changed_by(principal: Principal | None) -> str:
    """The username a change is recorded under: the principal's, or :data:`LOCAL_OPERATOR`.

    >>> changed_by(None), changed_by(Principal(7, "ana", "FAE", "admin"))
    ('local', 'ana')
    """
    return principal.username if principal is not None else LOCAL_OPERATOR


def allowed(principal: Principal | None, action: str) -> bool:
    """Whether ``principal`` (None: anonymous) may do ``action`` at all.

    Raises
    ------
    KeyError
        ``action`` is not in :data:`POLICY` (a route without a policy is a bug).
    """
    roles = POLICY[action]
    return (principal.role if principal is not None else ANONYMOUS) in roles


def require(principal: Principal | None, action: str) -> None:
    """Raise unless ``principal`` may do ``action``.

    Raises
    ------
    AuthenticationError
        Anonymous caller on a route that needs a login (HTTP 401).
    Forbidden
        The role may not do it (HTTP 403).
    """
    if allowed(principal, action):
        return
    if principal is None:
        raise AuthenticationError(f"{action} needs authentication (a token or a session)")
    raise Forbidden(f"role {principal.role!r} may not {action}")
