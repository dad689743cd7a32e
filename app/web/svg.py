"""A case on a time axis, as SVG: sentences and detention as bars, every timeline item as a row with
its mark, dates known only as a range drawn as shaded spans (earliest to latest day), decisions
labelled and coloured. Built with xml.etree.ElementTree, which escapes every text and attribute.

Made to be read on paper as well as on screen: black text on white, patterns as well as colours
for uncertainty, every mark labelled in words, the full text of each row in its <title>.
"""

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from app.hearings.schemas import outcome_tone
from app.web import humanize

SVG_NS = "http://www.w3.org/2000/svg"
WIDTH = 1000
MARGIN = 20
DATE_COLUMN = 204  # right edge of the column of dates, in words, at the left of every row
LEFT, RIGHT = 220, 980
ROW = 22
FONT = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif"
CHAR_WIDTH = 6.4  # average advance of a 12px sans-serif character, for fitting labels
INK, MUTED, GRID = "#1a1a1a", "#4d4d4d", "#d9d9d9"
TONE_COLOUR = {"adverse": "#a50f15", "favourable": "#1b6b35", "neutral": "#1f4e8c"}
BAR_COLOUR = "#5a3e8a"
RELEASE_KINDS = frozenset({"released", "pardoned", "parole_granted", "acquitted", "charges_dropped"})


@dataclass(frozen=True)
class Span:
    earliest: dt.date
    latest: dt.date

    @classmethod
    def of(cls, earliest: str | dt.date, latest: str | dt.date) -> "Span":
        def as_date(value: str | dt.date) -> dt.date:
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)

        return cls(as_date(earliest), as_date(latest))

    @property
    def exact(self) -> bool:
        return self.earliest == self.latest


@dataclass(frozen=True)
class Bar:
    label: str
    start: Span
    end: Span | None  # None: still running as far as the records say
    parole: Span | None = None
    kind: str = "sentence"


class Axis:
    """The time scale. Days are counted as ordinals (1 is January 1 of the year 1), so the padding
    around the case's dates can never step off the calendar."""

    def __init__(self, spans: list[Span]) -> None:
        low = min(s.earliest for s in spans).toordinal()
        high = max(s.latest for s in spans).toordinal() + 1  # the end of the latest day
        pad = max(30, round((high - low) * 0.03))
        self.start = max(1, low - pad)
        self.end = min(dt.date.max.toordinal() + 1, high + pad)
        self.days = self.end - self.start

    def x(self, ordinal: int) -> float:
        return round(LEFT + (ordinal - self.start) / self.days * (RIGHT - LEFT), 2)

    def span_x(self, span: Span) -> tuple[float, float]:
        """Left and right edges: from the start of the earliest day to the end of the latest."""
        return self.x(span.earliest.toordinal()), self.x(span.latest.toordinal() + 1)

    @property
    def first_year(self) -> int:
        return dt.date.fromordinal(self.start).year

    @property
    def last_year(self) -> int:
        return dt.date.fromordinal(min(self.end, dt.date.max.toordinal())).year

    def ticks(self) -> list[tuple[int, float]]:
        """(year, x) of the first day of each labelled year."""
        years = self.last_year - self.first_year + 1
        step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000) if years / s <= 14)
        first = self.first_year + (-self.first_year % step)
        days = [dt.date(year, 1, 1).toordinal() for year in range(max(first, 1), self.last_year + 1, step)]
        return [(dt.date.fromordinal(day).year, self.x(day)) for day in days if self.start <= day <= self.end]


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: Any) -> ET.Element:
    node = ET.SubElement(parent, tag, {k.rstrip("_").replace("_", "-"): str(v) for k, v in attrs.items()})
    if text is not None:
        node.text = text
    return node


def _fit(text: str, room: float, font_size: float = 12) -> str:
    chars = max(int(room / (CHAR_WIDTH * font_size / 12)), 4)
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def _bars(body: dict[str, Any], people: dict[str, str]) -> list[Bar]:
    bars = []
    for s in body.get("sentences") or []:
        if not s.get("start_date"):
            continue
        who = people.get(s.get("person_id") or "", "")
        term = humanize.term(s["term_months"]) + " " if s.get("term_months") is not None else ""
        label = f"{who + ': ' if who else ''}{term}{humanize.label(s['kind']).lower()}"
        end = Span.of(s["ends_on_earliest"], s["ends_on_latest"]) if s.get("ends_on") else None
        parole = (
            Span.of(s["parole_eligible_on_earliest"], s["parole_eligible_on_latest"])
            if s.get("parole_eligible_on") and s.get("parole_fraction", 1) < 1
            else None
        )
        bars.append(Bar(label, Span.of(s["start_date_earliest"], s["start_date_latest"]), end, parole))
    # Detention: from each arrest to the first release-like decision after it, if one is recorded.
    releases = sorted(
        (Span.of(o["date_earliest"], o["date_latest"]), o.get("person_id"))
        for o in body.get("outcomes") or []
        if o["kind"] in RELEASE_KINDS
    )
    for e in body.get("events") or []:
        if e["kind"] != "arrest":
            continue
        start = Span.of(e["date_earliest"], e["date_latest"])
        end = next(
            (
                span
                for span, person in releases
                if span.earliest >= start.earliest
                and (person is None or person in e["person_ids"] or not e["person_ids"])
            ),
            None,
        )
        names = [people[p] for p in e.get("person_ids", []) if p in people]
        bars.append(Bar(f"{', '.join(names) + ': ' if names else ''}detention", start, end, kind="detention"))
    return bars


def _defs(svg: ET.Element) -> None:
    defs = _el(svg, "defs")
    for name, colour in (("tl-hatch", MUTED), ("tl-hatch-bar", BAR_COLOUR)):
        pattern = _el(
            defs, "pattern", id=name, width=6, height=6, patternUnits="userSpaceOnUse", patternTransform="rotate(45)"
        )
        _el(pattern, "rect", width=6, height=6, fill="#ffffff")
        _el(pattern, "line", x1=0, y1=0, x2=0, y2=6, stroke=colour, stroke_width=2.5)


def _draw_axis(svg: ET.Element, axis: Axis, top: float, bottom: float) -> None:
    grid = _el(svg, "g", class_="axis", font_size=11, fill=MUTED)
    for year, x in axis.ticks():
        _el(grid, "line", x1=x, y1=top, x2=x, y2=bottom, stroke=GRID, stroke_width=1)
        _el(grid, "text", str(year), x=x + 3, y=top - 4)
        _el(grid, "text", str(year), x=x + 3, y=bottom + 13)
    _el(grid, "line", x1=LEFT, y1=top, x2=RIGHT, y2=top, stroke=MUTED, stroke_width=1)
    _el(grid, "line", x1=LEFT, y1=bottom, x2=RIGHT, y2=bottom, stroke=MUTED, stroke_width=1)


def _draw_bar(svg: ET.Element, axis: Axis, bar: Bar, y: float) -> None:
    group = _el(svg, "g", class_=f"bar {bar.kind}")
    until = f" to {humanize.span(bar.end.earliest, bar.end.latest)}" if bar.end is not None else ", no end recorded"
    _el(group, "title", f"{bar.label}: from {humanize.span(bar.start.earliest, bar.start.latest)}{until}")
    start_left, start_right = axis.span_x(bar.start)
    end_left, end_right = axis.span_x(bar.end) if bar.end is not None else (RIGHT, RIGHT)
    height = 12
    # Solid where the bar is certain, hatched where its start or end is only known as a range.
    _el(
        group,
        "rect",
        class_="certain",
        x=start_right,
        y=y,
        width=max(end_left - start_right, 0),
        height=height,
        fill=BAR_COLOUR,
    )
    if not bar.start.exact:
        _el(
            group,
            "rect",
            class_="uncertain",
            x=start_left,
            y=y,
            width=start_right - start_left,
            height=height,
            fill="url(#tl-hatch-bar)",
            stroke=BAR_COLOUR,
            stroke_width=1,
        )
    if bar.end is not None and not bar.end.exact:
        _el(
            group,
            "rect",
            class_="uncertain",
            x=end_left,
            y=y,
            width=end_right - end_left,
            height=height,
            fill="url(#tl-hatch-bar)",
            stroke=BAR_COLOUR,
            stroke_width=1,
        )
    _el(group, "text", humanize.label(bar.kind), x=DATE_COLUMN, y=y + 10, fill=MUTED, font_size=11, text_anchor="end")
    label = bar.label + ("" if bar.end is not None else " (no end recorded)")
    label_x = max(LEFT, min(start_left, RIGHT - len(label) * CHAR_WIDTH * 1.1))  # bold text is wider
    _el(group, "text", _fit(label, RIGHT - label_x), x=round(label_x, 2), y=y - 4, fill=INK, font_weight="bold")
    if bar.end is not None:
        _el(
            group, "text", "full term ends", x=end_right, y=y + height + 12, fill=MUTED, font_size=11, text_anchor="end"
        )
    if bar.parole is not None:
        left, right = axis.span_x(bar.parole)
        _el(group, "rect", class_="parole", x=left, y=y + height + 2, width=right - left, height=4, fill=INK)
        _el(group, "text", "parole may be sought", x=left, y=y + height + 16, fill=INK, font_size=11)


def _item_label(item: dict[str, Any], tone: str, closed: set[str]) -> str:
    title: str = item["title"]
    if item["type"] == "outcome" and tone == "adverse":
        return title.upper()
    if item["type"] == "hearing" and item["id"] in closed:
        # First, so that a label cut short for room still says it.
        return "Closed to the public: " + title.removesuffix(" (closed to the public)")
    return title


def _draw_item(svg: ET.Element, axis: Axis, item: dict[str, Any], y: float, closed: set[str]) -> None:
    span = Span.of(item["date_earliest"], item["date_latest"])
    is_outcome = item["type"] == "outcome"
    tone = outcome_tone(item["kind"]) if is_outcome else "neutral"
    colour = TONE_COLOUR[tone]
    when = humanize.edtf(item["date"], item["date_earliest"], item["date_latest"])
    title = _item_label(item, tone, closed)
    group = _el(
        svg,
        "g",
        class_=f"item {item['type']}" + (f" outcome-{tone}" if is_outcome else ""),
        data_type=item["type"],
        data_id=item["id"],
        data_earliest=span.earliest.isoformat(),
        data_latest=span.latest.isoformat(),
    )
    _el(group, "title", f"{item['title']} ({when})" + (f": {item['text']}" if item.get("text") else ""))
    weight = "bold" if is_outcome else "normal"
    ink = colour if is_outcome else INK
    _el(
        group,
        "text",
        _fit(when, DATE_COLUMN - MARGIN, 11),
        class_="when",
        x=DATE_COLUMN,
        y=y + 4,
        fill=ink if is_outcome else MUTED,
        font_size=11,
        font_weight=weight,
        text_anchor="end",
    )
    left, right = axis.span_x(span)
    middle = (left + right) / 2
    if span.exact:
        uncertain = item["date"].endswith(("?", "~", "%"))
        radius = 6 if is_outcome else 4.5
        left, right = middle - radius, middle + radius  # the label keeps clear of the dot
        _el(
            group,
            "circle",
            cx=middle,
            cy=y,
            r=radius,
            fill="#ffffff" if uncertain else colour,
            stroke=colour,
            stroke_width=2.5 if uncertain else 1,
        )
    else:
        _el(
            group,
            "rect",
            class_="span",
            x=left,
            y=y - 6,
            width=right - left,
            height=12,
            fill="url(#tl-hatch)",
            stroke=colour,
            stroke_width=2 if is_outcome else 1.5,
        )
    _label(group, title, left, right, y, ink, weight)


def _label(group: ET.Element, title: str, left: float, right: float, y: float, ink: str, weight: str) -> None:
    """Beside the mark, right or left, wherever the whole label fits; over a wide range when it fits
    nowhere else."""
    needed = len(title) * CHAR_WIDTH * (1.1 if weight == "bold" else 1)
    places = [
        ("right", RIGHT - right - 6, right + 6, "start"),
        ("left", left - LEFT - 6, left - 6, "end"),
        ("over", RIGHT - max(left, LEFT) - 6, max(left, LEFT) + 6, "start"),
    ]
    fitting = [p for p in places if p[1] >= needed]
    where, room, x, anchor = fitting[0] if fitting else max(places, key=lambda p: p[1])
    # A white halo keeps the words readable over grid lines, guides and hatching.
    halo = {"stroke": "#ffffff", "stroke_width": 4 if where == "over" else 3, "paint_order": "stroke"}
    _el(
        group,
        "text",
        _fit(title, room),
        x=round(x, 2),
        y=y + 4,
        fill=ink,
        font_weight=weight,
        text_anchor=anchor,
        **halo,
    )


def _guides(svg: ET.Element, axis: Axis, items: list[dict[str, Any]], top: float, bottom: float) -> None:
    """A dashed line down the chart at each decision, so it can be read against the bars."""
    guides = _el(svg, "g", class_="guides")
    for item in items:
        span = Span.of(item["date_earliest"], item["date_latest"])
        if item["type"] != "outcome" or not span.exact:
            continue  # a line in the middle of a range would claim a precision the record lacks
        left, right = axis.span_x(span)
        x = round((left + right) / 2, 2)
        colour = TONE_COLOUR[outcome_tone(item["kind"])]
        _el(guides, "line", x1=x, y1=top, x2=x, y2=bottom, stroke=colour, stroke_width=1, stroke_dasharray="4 3")


def _legend(svg: ET.Element, y: float) -> None:
    legend = _el(svg, "g", class_="legend", font_size=11, fill=INK)
    x = MARGIN
    _el(legend, "circle", cx=x + 5, cy=y - 4, r=4.5, fill=TONE_COLOUR["neutral"])
    _el(legend, "text", "known day", x=x + 14, y=y)
    x += 90
    _el(legend, "circle", cx=x + 5, cy=y - 4, r=4.5, fill="#ffffff", stroke=TONE_COLOUR["neutral"], stroke_width=2.5)
    _el(legend, "text", "uncertain or approximate day", x=x + 14, y=y)
    x += 200
    _el(legend, "rect", x=x, y=y - 10, width=22, height=12, fill="url(#tl-hatch)", stroke=MUTED)
    _el(legend, "text", "somewhere in this span (exact date not known)", x=x + 28, y=y)
    x += 300
    _el(legend, "rect", x=x, y=y - 10, width=22, height=12, fill=BAR_COLOUR)
    _el(legend, "text", "sentence / detention", x=x + 28, y=y)
    x += 150
    _el(legend, "line", x1=x + 4, y1=y - 12, x2=x + 4, y2=y + 2, stroke=TONE_COLOUR["adverse"], stroke_dasharray="4 3")
    _el(legend, "text", "DECISION", x=x + 12, y=y, fill=TONE_COLOUR["adverse"], font_weight="bold")


def timeline_svg(body: dict[str, Any], *, xml_declaration: bool = False) -> str:
    """The SVG for a case body from app.timeline.embedding.case_with_records (with sentences, hearings,
    outcomes, events, people and the timeline included)."""
    people = {p["id"]: p["name"] for p in body.get("people") or []}
    items = (body.get("timeline") or {}).get("items", [])
    bars = _bars(body, people)
    closed = {h["id"] for h in body.get("hearings") or [] if h.get("public") is False}
    spans = [Span.of(i["date_earliest"], i["date_latest"]) for i in items]
    for bar in bars:
        spans += [bar.start, *([bar.end] if bar.end else []), *([bar.parole] if bar.parole else [])]
    if not spans:
        today = dt.date.today()
        spans = [Span(today, today)]
    axis = Axis(spans)

    header = 62
    bars_top = header + 34
    bar_height = 46
    items_top = bars_top + len(bars) * bar_height + 14
    bottom = items_top + len(items) * ROW
    height = int(bottom + 58)

    bars_note = f"; {len(bars)} sentence or detention bar{'s' if len(bars) > 1 else ''} on top" if bars else ""
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "width": str(WIDTH),
            "height": str(height),
            "viewBox": f"0 0 {WIDTH} {height}",
            "role": "img",
            "aria-labelledby": "tl-title tl-desc",
            "font-family": FONT,
            "font-size": "12",
            "class": "case-timeline",
        },
    )
    _el(svg, "title", f"Timeline of the case: {body['title']}", id="tl-title")
    _el(
        svg,
        "desc",
        f"{len(items)} dated records in date order, one per row, with the date in words at the left{bars_note}. "
        "A dot marks a known day (hollow when the day is uncertain or approximate); a hatched span marks a date "
        "known only as "
        "a range, from its earliest to its latest possible day; decisions are labelled in bold.",
        id="tl-desc",
    )
    _defs(svg)
    _el(svg, "rect", x=0, y=0, width=WIDTH, height=height, fill="#ffffff")
    _el(
        svg,
        "text",
        _fit(body["title"], (RIGHT - MARGIN) * 0.9),
        x=MARGIN,
        y=26,
        font_size=17,
        font_weight="bold",
        fill=INK,
    )
    _el(
        svg,
        "text",
        f"{axis.first_year}–{axis.last_year}: sentences, hearings, decisions and events, by date",
        x=MARGIN,
        y=46,
        fill=MUTED,
    )
    _draw_axis(svg, axis, header + 12, bottom + 6)
    _guides(svg, axis, items, header + 12, bottom + 6)
    for index, bar in enumerate(bars):
        _draw_bar(svg, axis, bar, bars_top + index * bar_height)
    for index, item in enumerate(items):
        _draw_item(svg, axis, item, items_top + index * ROW + ROW / 2, closed)
    _legend(svg, height - 14)
    text = ET.tostring(svg, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text if xml_declaration else text
