"""Agencies and users: the host agency, partner agencies, one agency and one role per user.

The store has one **host agency**, chosen at :func:`init_state`: it owns every object ingested
into the store unless a marking names another owner, and only its admins create agencies or
grant the host's data. Every other agency sees what it owns and what live grants give it.

Examples
--------
>>> import tempfile
>>> from seawatch.share.db import open_state
>>> state = open_state(tempfile.mkdtemp())
>>> init_state(state, "ECU-NAVY").name
'ECU-NAVY'
>>> _ = add_agency(state, "FAE", description="partner air force")
>>> add_user(state, "ana", agency="FAE", role="partner_viewer").role
'partner_viewer'
>>> [a.name for a in list_agencies(state)]
['ECU-NAVY', 'FAE']
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from seawatch.share.bounds import AGENCY_NAME, TEXT_CHARS, USERNAME, bounded_text, shown
from seawatch.share.db import utcnow
from seawatch.share.errors import Conflict, Forbidden, InvalidInput, NotFound, NotInitialised
from seawatch.share.markings import (
    DEFAULT_MARKING,
    DEFAULT_MARKING_KEY,
    TLP,
    set_default_marking,
)
from seawatch.share.models import Agency, Setting, User
from seawatch.share.passwords import check_password_strength, hash_password
from seawatch.share.roles import (
    AGENCY_MANAGE,
    ROLES,
    USER_MANAGE,
    Principal,
    changed_by,
    require,
)

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from seawatch.share.db import State



@dataclass(frozen=True)
class AgencyInfo:
    """An agency as the API and CLI show it."""

    id: int
    name: str
    description: str
    is_host: bool
    created_at: datetime


@dataclass(frozen=True)
class UserInfo:
    """A user as the API and CLI show it (never the password hash)."""

    id: int
    username: str
    agency: str
    role: str
    disabled: bool
    has_password: bool
    created_at: datetime
    created_by: str

    def principal(self, auth_method: str, host: str) -> Principal:
        """The :class:`Principal` of this user."""
        return Principal(
            self.id, self.username, self.agency, self.role, auth_method, self.agency == host
        )


def _agency_info(a: Agency) -> AgencyInfo:
    return AgencyInfo(a.id, a.name, a.description, a.is_host, a.created_at)


def _user_info(u: User) -> UserInfo:
    return UserInfo(
        u.id, u.username, u.agency.name, u.role, u.disabled, u.password_hash is not None,
        u.created_at, u.created_by,
    )


def find_agency(s: Session, name: str) -> Agency:
    """The agency called ``name`` (``NotFound`` naming the command that lists them; a name
    no agency could have is not looked up)."""
    agency = None
    if isinstance(name, str) and AGENCY_NAME.match(name):
        agency = s.scalar(sa.select(Agency).where(Agency.name == name))
    if agency is None:
        raise NotFound(f"unknown agency {shown(name)}; see `seawatch agency list`")
    return agency


def find_user(s: Session, username: str) -> User:
    """The user called ``username`` (case-insensitive; a name no user could have is not
    looked up)."""
    name = username.strip().lower() if isinstance(username, str) else ""
    user = None
    if USERNAME.match(name):
        user = s.scalar(sa.select(User).where(User.username == name))
    if user is None:
        raise NotFound(f"unknown user {shown(username)}; see `seawatch user list`")
    return user


def principal_of(s: Session, user: User, method: str) -> Principal:
    """The :class:`~seawatch.share.roles.Principal` of ``user`` authenticated by ``method``
    (``'password'``, ``'token'``, ``'session'``), with whether its agency is the host."""
    host = s.scalar(sa.select(Agency.name).where(Agency.is_host.is_(True))) or ""
    return Principal(user.id, user.username, user.agency.name, user.role, method,
                     user.agency.name == host)


def host_agency(state: State) -> AgencyInfo:
    """The host agency (``NotInitialised`` before :func:`init_state`)."""
    with state.read() as s:
        host = s.scalar(sa.select(Agency).where(Agency.is_host.is_(True)))
        if host is None:
            raise NotInitialised("the store has no host agency yet: run `seawatch init-state`")
        return _agency_info(host)


def init_state(
    state: State,
    host_agency: str,
    *,
    description: str = "",
    default_marking: str | TLP | None = None,
    now: datetime | None = None,
) -> AgencyInfo:
    """Make ``host_agency`` the store's host (creating it) and set the default marking.

    Idempotent: running it again with the same host changes nothing but the default marking,
    and that only when one is given (None keeps the current one; AMBER for a new state).

    Raises
    ------
    Conflict
        The store already has another host agency.
    """
    level = TLP.parse(default_marking) if default_marking is not None else None
    _check_agency_name(host_agency)
    bounded_text(description, "description", TEXT_CHARS, multiline=True)
    with state.write() as s:
        host = s.scalar(sa.select(Agency).where(Agency.is_host.is_(True)))
        if host is not None and host.name != host_agency:
            raise Conflict(
                f"the store's host agency is {host.name}; a store has one host agency"
            )
        if host is None:
            host = s.scalar(sa.select(Agency).where(Agency.name == host_agency))
            if host is None:
                host = Agency(
                    name=host_agency, description=description, is_host=True,
                    created_at=utcnow(now),
                )
                s.add(host)
            else:
                host.is_host = True
        s.flush()
        info = _agency_info(host)
        first = s.get(Setting, DEFAULT_MARKING_KEY) is None
    if level is not None or first:
        set_default_marking(state, level if level is not None else DEFAULT_MARKING)
    return info


def _check_agency_name(name: str) -> None:
    if not isinstance(name, str) or not AGENCY_NAME.match(name):
        raise InvalidInput(
            f"bad agency name {shown(name)}: use letters, digits, '_', '.', '-' (up to 64), "
            "e.g. ECU-NAVY"
        )


def add_agency(
    state: State,
    name: str,
    *,
    description: str = "",
    host: bool = False,
    principal: Principal | None = None,
    now: datetime | None = None,
) -> AgencyInfo:
    """Create an agency.

    Parameters
    ----------
    host
        Make it the store's host agency (only when the store has none yet).
    principal
        The caller (None: the local operator); must be an admin of the host agency.

    Raises
    ------
    Conflict
        The agency exists, or ``host`` while the store has a host.
    Forbidden, InvalidInput
    """
    _check_agency_name(name)
    bounded_text(description, "description", TEXT_CHARS, multiline=True)
    if principal is not None:
        require(principal, AGENCY_MANAGE)
        if not principal.is_host_admin:
            raise Forbidden("only the host agency's admins create agencies")
    with state.write() as s:
        if s.scalar(sa.select(Agency.id).where(Agency.name == name)) is not None:
            raise Conflict(f"agency {name!r} exists already")
        if host:
            current = s.scalar(sa.select(Agency.name).where(Agency.is_host.is_(True)))
            if current is not None:
                raise Conflict(f"the store's host agency is {current}; a store has one host")
        agency = Agency(
            name=name, description=description, is_host=host,
            created_at=utcnow(now),
        )
        s.add(agency)
        s.flush()
        return _agency_info(agency)


def list_agencies(state: State) -> list[AgencyInfo]:
    """Every agency, host first, then by name."""
    with state.read() as s:
        rows = s.scalars(sa.select(Agency).order_by(Agency.is_host.desc(), Agency.name))
        return [_agency_info(a) for a in rows]


def add_user(
    state: State,
    username: str,
    *,
    agency: str,
    role: str,
    password: str | None = None,
    principal: Principal | None = None,
    now: datetime | None = None,
) -> UserInfo:
    """Create a user.

    Parameters
    ----------
    username
        Lower-cased; see :data:`USERNAME`.
    agency
        The user's agency (must exist).
    role
        One of :data:`seawatch.share.roles.ROLES`.
    password
        Hashed with scrypt (:func:`seawatch.share.passwords.hash_password`); None: the user can
        only use API tokens until a password is set.
    principal
        The caller (None: the local operator); an admin of ``agency`` or of the host agency.

    Raises
    ------
    Conflict, InvalidInput, NotFound, Forbidden
    """
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise InvalidInput(
            f"bad username {shown(username)}: use lower-case letters, digits, '_', '.', '@', "
            "'-' (up to 64)"
        )
    if role not in ROLES:
        raise InvalidInput(f"unknown role {shown(role)}; use one of {', '.join(ROLES)}")
    _check_manage(principal, agency)
    hashed = None
    if password is not None:
        check_password_strength(password)
        hashed = hash_password(password)
    with state.write() as s:
        owner = find_agency(s, agency)
        if s.scalar(sa.select(User.id).where(User.username == name)) is not None:
            raise Conflict(f"user {name!r} exists already")
        user = User(
            username=name, agency_id=owner.id, role=role, password_hash=hashed, disabled=False,
            created_at=utcnow(now), created_by=changed_by(principal),
        )
        s.add(user)
        s.flush()
        return _user_info(user)


def _check_manage(principal: Principal | None, agency: str) -> None:
    if principal is None:
        return
    require(principal, USER_MANAGE)
    if not (principal.agency == agency or principal.is_host_admin):
        raise Forbidden(f"an admin of {principal.agency} may not manage users of {agency}")


def set_password(
    state: State, username: str, password: str, *, principal: Principal | None = None
) -> None:
    """Set or replace a user's password (its own, an admin of its agency, or a host admin)."""
    check_password_strength(password)
    hashed = hash_password(password)
    with state.write() as s:
        user = find_user(s, username)
        if principal is not None and principal.user_id != user.id:
            _check_manage(principal, user.agency.name)
        user.password_hash = hashed


def set_disabled(
    state: State, username: str, disabled: bool = True, *, principal: Principal | None = None
) -> UserInfo:
    """Disable (or re-enable) a user: its tokens and sessions stop working at once."""
    with state.write() as s:
        user = find_user(s, username)
        _check_manage(principal, user.agency.name)
        user.disabled = disabled
        return _user_info(user)


def list_users(
    state: State, *, agency: str | None = None, principal: Principal | None = None
) -> list[UserInfo]:
    """Users by agency then name (a caller not in the host agency sees its own agency's)."""
    if principal is not None and not principal.is_host:
        agency = principal.agency
    query = sa.select(User).join(Agency).order_by(Agency.name, User.username)
    if agency is not None:
        query = query.where(Agency.name == agency)
    with state.read() as s:
        return [_user_info(u) for u in s.scalars(query)]


def get_user(state: State, username: str) -> UserInfo:
    """One user."""
    with state.read() as s:
        return _user_info(find_user(s, username))
