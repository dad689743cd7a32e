"""Hearings as an iCalendar feed (RFC 5545) that calendar apps can subscribe to.

Each hearing is one all-day event. Hearing dates are EDTF and often vague, so the event runs from the
earliest to the latest day the hearing may have taken place (DTEND is exclusive: the day after the
latest; a hearing that may last until 9999-12-31, the latest date taken, gives its DURATION in days
instead, since no calendar can write the day after). The EDTF string itself is in the description.
DTSTAMP and LAST-MODIFIED are the hearing's last change, so a feed fetched twice without edits is
byte-for-byte the same.
"""

import datetime as dt
from collections.abc import Callable, Iterable

from icalendar import Calendar, Event

from app.hearings.schemas import HearingKind, HearingRead

PRODID = "-//casetrack//hearings//EN"
UID_DOMAIN = "casetrack"


def hearing_uid(hearing_id: str) -> str:
    return f"{hearing_id}@{UID_DOMAIN}"


def _summary(hearing: HearingRead, case_title: str) -> str:
    kind = "Hearing" if hearing.kind == HearingKind.other else f"{hearing.kind.value.capitalize()} hearing"
    return f"{kind} — {case_title}"


def _description(hearing: HearingRead, url: str) -> str:
    lines = [hearing.summary] if hearing.summary else []
    lines.append(f"Date (EDTF): {hearing.date}")
    if hearing.public is False:
        lines.append("The hearing was closed to the public.")
    lines.append(url)
    return "\n".join(lines)


def _event(hearing: HearingRead, case_title: str, url: str) -> Event:
    event = Event()
    event.add("uid", hearing_uid(hearing.id))
    event.add("dtstamp", hearing.updated_at)
    event.add("created", hearing.created_at)
    event.add("last-modified", hearing.updated_at)
    event.add("dtstart", hearing.date_earliest)
    if hearing.date_latest < dt.date.max:
        event.add("dtend", hearing.date_latest + dt.timedelta(days=1))
    else:
        event.add("duration", hearing.date_latest - hearing.date_earliest + dt.timedelta(days=1))
    event.add("summary", _summary(hearing, case_title))
    if hearing.location:
        event.add("location", hearing.location)
    event.add("description", _description(hearing, url))
    event.add("url", url)
    event.add("transp", "TRANSPARENT")  # a hearing on the calendar does not make its reader busy
    return event


def hearings_calendar(
    hearings: Iterable[tuple[HearingRead, str]], name: str, hearing_url: Callable[[str], str]
) -> bytes:
    """A VCALENDAR of ``(hearing, its case's title)`` pairs; ``hearing_url(id)`` is the hearing in the API."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for hearing, case_title in hearings:
        calendar.add_component(_event(hearing, case_title, hearing_url(hearing.id)))
    text: bytes = calendar.to_ical()
    return text
