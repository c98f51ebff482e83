"""People's actions on exceptions, for every door (API, console form, command line through
the API): the one place that asks rxsight.authz about the exception's owner, checks the
assignee against the configuration and hands over to the lifecycle, which audits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rules import lifecycle
from rxsight.authz import Action, Principal, Refused, Resource, check
from rxsight.config import Settings
from rxsight.store import Store

# A selection is acted on one by one; more than this in one request is refused whole.
MAX_BULK = 500


class InvalidField(ValueError):
    """A request field is wrong before anything is done; `field` names it."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True)
class Outcome:
    """One exception's result in a bulk action: the new state, or why not (status: the HTTP
    status the same refusal has on its own: 403, 404 or 409)."""

    exception_id: str
    state: dict[str, Any] | None = None
    status: int = 200
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        if self.state is not None:
            return {"exception_id": self.exception_id, "ok": True, "status": self.state["status"]}
        return {"exception_id": self.exception_id, "ok": False, "error": self.error}


def check_request(
    settings: Settings, action: str, comment: str | None, assignee: str | None
) -> tuple[str, str]:
    """The fields of an action, cleaned; InvalidField when one is wrong for every exception."""
    if action not in lifecycle.ACTIONS:
        raise InvalidField("action", f"{action!r} is not one of {', '.join(lifecycle.ACTIONS)}")
    comment = (comment or "").strip()
    assignee = (assignee or "").strip()
    if action == "assign":
        known = settings.config.assignees()
        if not assignee:
            raise InvalidField("assignee", "choose a configured user or team to assign to")
        if assignee not in known:
            raise InvalidField(
                "assignee",
                f"{assignee!r} is not a configured user or team"
                + (f" (one of {', '.join(sorted(known))})" if known else " (none is configured)"),
            )
    if action in ("comment", "resolve") and not comment:
        what = "a comment" if action == "comment" else "a comment saying what was done"
        raise InvalidField("comment", f"{action} needs {what}")
    return comment, assignee


def act(
    store: Store,
    settings: Settings,
    principal: Principal,
    exception_id: str,
    action: str,
    *,
    comment: str | None = None,
    assignee: str | None = None,
) -> dict[str, Any]:
    """Apply one person's action; returns the new state. InvalidField: a bad field.
    KeyError: no such exception. Refused: rxsight.authz says no (owner scope, role).
    ValueError: the action does not apply to the exception as it is."""
    comment, assignee = check_request(settings, action, comment, assignee)
    return _act_checked(store, principal, exception_id, action, comment, assignee)


def act_on_many(
    store: Store,
    settings: Settings,
    principal: Principal,
    exception_ids: list[str],
    action: str,
    *,
    comment: str | None = None,
    assignee: str | None = None,
) -> list[Outcome]:
    """The same action on each selected exception; one refused or not applicable does not
    stop the others. InvalidField (nothing done) when a field is wrong for all of them."""
    comment, assignee = check_request(settings, action, comment, assignee)
    ids = list(dict.fromkeys(i for i in exception_ids if i))
    if not ids:
        raise InvalidField("exception_ids", "select at least one exception")
    if len(ids) > MAX_BULK:
        raise InvalidField("exception_ids", f"at most {MAX_BULK} at once, not {len(ids)}")
    out = []
    for exception_id in ids:
        try:
            state = _act_checked(store, principal, exception_id, action, comment, assignee)
        except KeyError:
            out.append(Outcome(exception_id, status=404, error="no such exception"))
        except Refused as exc:
            out.append(Outcome(exception_id, status=exc.decision.status, error=str(exc)))
        except ValueError as exc:
            out.append(Outcome(exception_id, status=409, error=str(exc)))
        else:
            out.append(Outcome(exception_id, state))
    return out


def _act_checked(
    store: Store,
    principal: Principal,
    exception_id: str,
    action: str,
    comment: str,
    assignee: str,
) -> dict[str, Any]:
    found = lifecycle.get_exception(store, exception_id)
    if found is None:
        raise KeyError(exception_id)
    check(principal, Action.EXCEPTION_ACT, Resource.exception(exception_id, found.get("owner")))
    return lifecycle.act(
        store,
        exception_id,
        action,
        principal.name,
        comment=comment or None,
        assignee=assignee or None,
    )
