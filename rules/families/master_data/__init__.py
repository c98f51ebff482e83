"""master_data: identifiers the crosswalk does not know (DESIGN 5.7), the work queue of the
data stewards who maintain it. Entity: kind + source system + identifier; since the first
event that carried it; details: events seen, last seen. Off while the crosswalk has no entity
of the kind in force."""

from __future__ import annotations

from rules.families import Details, Entity, Family, Rule
from rxsight.timeutil import summary_time

KINDS = ("item", "supplier", "site", "cost_center")
REASONS = tuple(f"unmapped_{k}" for k in KINDS)


def summarize(reason: str, e: Entity, d: Details) -> str:
    kind = str(d.get("kind", reason.removeprefix("unmapped_"))).replace("_", " ")
    events = d.get("events")
    plural = "" if str(events) == "1" else "s"
    return (
        f"{kind} {d.get('identifier')!r} from {d.get('source_system')} is not in the crosswalk "
        f"({events} event{plural}, last {summary_time(d.get('last_seen'))})"
    )


FAMILY = Family(
    name="master_data",
    order=70,
    description="Identifiers the master data crosswalk does not know",
    reasons=REASONS,
    rules=(
        # Few rows (one per unknown identifier), read whole: no entity scope.
        Rule(
            "master_data",
            "Items, suppliers, sites and cost centers sent under identifiers the crosswalk does "
            "not map, per source system",
            "master_data",
        ),
    ),
    default_owner="data-stewards",
    default_severity="warning",
    summarize=summarize,
    per_site=False,
    module_file=__file__,
)
