"""The one authorization decision: may this principal take this action on this resource.

Every door that changes state asks here: the HTTP API (`rxsight.auth.require` for the
role, `enforce` with the resource once it is known), the console's forms (which show the
same reason when they refuse) and the CLI. Roles: viewer < operator < admin. An owner
scope (`users[].owner`) confines a person to resources confined to that owner: exceptions
it owns, silences whose matchers pin `owner` to it, receivers serving it. Actions that
touch every owner at once (evaluating rules with persist, reloading configuration) are
for people without an owner scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

ROLES = ("viewer", "operator", "admin")


@dataclass(frozen=True)
class Principal:
    """Who is calling. via: "token" (Bearer), "session" (console sign-in), "loopback" (no
    credentials configured, a local caller) or "cli" (a command run with the data directory
    at hand, which is as good as an admin)."""

    name: str
    role: str  # "ingest", "viewer", "operator" or "admin"
    via: str
    owner: str | None = None
    source_systems: tuple[str, ...] = ()
    session_id: str | None = None

    @classmethod
    def command_line(cls) -> Principal:
        """Whoever runs a command that opens the data directory or DSN itself."""
        import getpass

        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no login name in this environment
            user = "unknown"
        return cls(name=f"cli:{user}", role="admin", via="cli")

    def can(self, role: str) -> bool:
        if self.role not in ROLES:
            return False
        return ROLES.index(self.role) >= ROLES.index(role)


class Action(StrEnum):
    READ = "read"
    OPERATE = "operate"  # some operator action, before its resource is known
    ADMINISTER = "administer"
    READ_AUDIT = "audit.read"
    EXCEPTION_ACT = "exception.act"  # ack, assign, comment, resolve, reopen
    SILENCE_CREATE = "silence.create"
    SILENCE_UPDATE = "silence.update"
    SILENCE_EXPIRE = "silence.expire"
    DEAD_LETTER_REPLAY = "dead_letter.replay"
    TEST_ALERT = "alerts.test"
    RULES_PERSIST = "rules.persist"  # evaluate and open / resolve exceptions of every owner
    CONFIG_RELOAD = "config.reload"
    # Load crosswalk versions: changes what every rule matches, for every owner.
    MASTERDATA_LOAD = "masterdata.load"


_MIN_ROLE = {
    Action.READ: "viewer",
    Action.OPERATE: "operator",
    Action.ADMINISTER: "admin",
    Action.READ_AUDIT: "admin",
    Action.EXCEPTION_ACT: "operator",
    Action.SILENCE_CREATE: "operator",
    Action.SILENCE_UPDATE: "operator",
    Action.SILENCE_EXPIRE: "operator",
    Action.DEAD_LETTER_REPLAY: "operator",
    Action.TEST_ALERT: "operator",
    Action.RULES_PERSIST: "operator",
    Action.CONFIG_RELOAD: "admin",
    Action.MASTERDATA_LOAD: "admin",
}
_OWNER_SCOPED = {
    Action.EXCEPTION_ACT,
    Action.SILENCE_CREATE,
    Action.SILENCE_UPDATE,
    Action.SILENCE_EXPIRE,
    Action.DEAD_LETTER_REPLAY,
    Action.TEST_ALERT,
}
_EVERY_OWNER = {Action.RULES_PERSIST, Action.CONFIG_RELOAD, Action.MASTERDATA_LOAD}
ROLE_ACTIONS = {"viewer": Action.READ, "operator": Action.OPERATE, "admin": Action.ADMINISTER}


@dataclass(frozen=True)
class Resource:
    """What an action is taken on. owners: the owners it is confined to (an exception: its
    owner; a silence: each value its matchers pin `owner` to); empty: not confined."""

    kind: str
    id: str = ""
    owners: frozenset[str] = frozenset()

    @classmethod
    def exception(cls, exception_id: str, owner: str | None) -> Resource:
        return cls("exception", exception_id, frozenset({owner}) if owner else frozenset())

    @classmethod
    def silence(cls, silence_id: str, pinned_owners: frozenset[str]) -> Resource:
        return cls("silence", silence_id, pinned_owners)

    @classmethod
    def receiver(cls, name: str, owner: str | None) -> Resource:
        return cls("receiver", name, frozenset({owner}) if owner else frozenset())


NOTHING_IN_PARTICULAR = Resource("any")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    status: int = 200  # 401 (who are you?) or 403 (not you) when refused
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


class Refused(PermissionError):
    """A stage's public function refused a principal; carries the decision (status, reason)."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.decision = decision


def check(
    principal: Principal | None, action: Action, resource: Resource = NOTHING_IN_PARTICULAR
) -> None:
    """`authorize`, for functions every door calls: a refusal raises Refused."""
    decision = authorize(principal, action, resource)
    if not decision:
        raise Refused(decision)


def authorize(
    principal: Principal | None, action: Action, resource: Resource = NOTHING_IN_PARTICULAR
) -> Decision:
    """Allowed, or refused with the status and a reason a person can act on."""
    if principal is None:
        return Decision(False, 401, "authentication required: a Bearer token or a console login")
    needed = _MIN_ROLE[action]
    if not principal.can(needed):
        return Decision(False, 403, f"this needs the {needed} role; you are {principal.role}")
    scope = principal.owner
    if scope and action in _EVERY_OWNER:
        return Decision(
            False,
            403,
            f"{action.value} changes things of every owner; your account is limited to {scope}",
        )
    if scope and action in _OWNER_SCOPED and scope not in resource.owners:
        return Decision(False, 403, _outside_scope(action, resource, scope))
    return Decision(True)


def _outside_scope(action: Action, resource: Resource, scope: str) -> str:
    if resource.kind == "exception":
        owner = next(iter(resource.owners), None) or "no owner"
        return f"this exception belongs to {owner}; you can act only on {scope}'s exceptions"
    if resource.kind == "silence":
        verb = {Action.SILENCE_CREATE: "create", Action.SILENCE_UPDATE: "change"}.get(
            action, "expire"
        )
        return (
            f'you can {verb} only silences limited to your alerts: with the matcher owner="{scope}"'
        )
    if resource.kind == "receiver":
        owner = next(iter(resource.owners), None) or "no owner"
        return f"receiver {resource.id} serves {owner}; you can act only for {scope}"
    return f"your account is limited to {scope}"
