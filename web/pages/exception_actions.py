"""People's actions from the console: one exception's forms, and a selection on the list.
Both go through rules.public.act_as / act_on_many, as the API does (authz, assignees from
the configuration, audit)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

import rules.public as rules_public
from rxsight.auth import Principal
from rxsight.authz import Refused
from web.deps import ConsoleError, console_user, redirect, safe_next, store_of
from web.pages.exceptions import exception_url

router = APIRouter()

ACTION_DONE = {
    "ack": "Acknowledged.",
    "assign": "Assigned.",
    "comment": "Comment added.",
    "resolve": "Resolved.",
    "reopen": "Reopened.",
}
BULK_DONE = {
    "ack": "acknowledged",
    "assign": "assigned",
    "comment": "commented on",
    "resolve": "resolved",
    "reopen": "reopened",
}


@router.post("/exceptions/bulk")
def exceptions_bulk(
    request: Request,
    action: str = Form(...),
    exception_id: list[str] = Form(default=[]),
    comment: str = Form(""),
    assignee: str = Form(""),
    back: str = Form("/exceptions"),
    principal: Principal = Depends(console_user("operator")),
) -> Response:
    back = safe_next(back)
    if assignee == "me":
        assignee = principal.name
    try:
        outcomes = rules_public.act_on_many(
            store_of(request),
            request.app.state.settings,
            principal,
            exception_id,
            action,
            comment=comment,
            assignee=assignee,
        )
    except rules_public.InvalidField as exc:
        return redirect(back, error=f"Nothing was changed. {exc.field}: {exc.reason}.")
    done = [o for o in outcomes if o.state is not None]
    failed = [o for o in outcomes if o.state is None]
    flash = f"{len(done)} exception{'s' if len(done) != 1 else ''} {BULK_DONE[action]}."
    if not failed:
        return redirect(back, flash=flash)
    why = "; ".join(f"{o.exception_id}: {o.error}" for o in failed[:5])
    more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
    return redirect(back, flash=flash, error=f"{len(failed)} not changed: {why}{more}.")


@router.post("/exceptions/{exception_id:path}/actions")
def exception_action(
    request: Request,
    exception_id: str,
    action: str = Form(...),
    comment: str = Form(""),
    assignee: str = Form(""),
    principal: Principal = Depends(console_user("operator")),
) -> Response:
    back = exception_url(exception_id)
    if assignee == "me":
        assignee = principal.name
    try:
        rules_public.act_as(
            store_of(request),
            request.app.state.settings,
            principal,
            exception_id,
            action,
            comment=comment,
            assignee=assignee,
        )
    except rules_public.InvalidField as exc:
        return redirect(back, error=f"{exc.field}: {exc.reason}.")
    except KeyError as exc:
        raise ConsoleError(404, f"No exception with id {exception_id!r}.") from exc
    except Refused as exc:
        raise ConsoleError(exc.decision.status, exc.decision.reason) from exc
    except ValueError as exc:
        return redirect(back, error=f"Could not {action}: {exc}")
    return redirect(back, flash=ACTION_DONE.get(action, "Done."))
