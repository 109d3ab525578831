"""Charts drawn on the server as SVG: shapes and their numbers worked out here, drawn by the
templates (``reports/_hour_chart.html``, ``reports/_progress_chart.html``) with attributes
only, since the content security policy forbids inline styles. Every chart comes with its
figures as a table, for screen readers and for anyone who wants the numbers."""

import datetime as dt

HOUR_CHART = {"width": 360, "height": 150, "top": 10, "bottom": 22, "left": 4, "right": 4}


def hour_chart(hours: list[dict]) -> dict:
    """Bars of calls per hour with conversations inside them; ``hours``: one row per hour,
    oldest first, with ``hour`` (UTC), ``calls`` and ``conversations``."""
    c = HOUR_CHART
    plot_height = c["height"] - c["top"] - c["bottom"]
    slot = (c["width"] - c["left"] - c["right"]) / max(len(hours), 1)
    highest = max([row["calls"] for row in hours] + [1])
    bars = []
    for i, row in enumerate(hours):
        x = c["left"] + i * slot
        calls_height = plot_height * row["calls"] / highest
        talk_height = plot_height * row["conversations"] / highest
        bars.append(
            {
                **row,
                "x": round(x + slot * 0.1, 1),
                "width": round(slot * 0.8, 1),
                "calls_y": round(c["top"] + plot_height - calls_height, 1),
                "calls_height": round(calls_height, 1),
                "talk_y": round(c["top"] + plot_height - talk_height, 1),
                "talk_height": round(talk_height, 1),
                # An hour label every six bars, under the bar's middle.
                "label": f"{row['hour']:%H}:00" if i % 6 == 0 else "",
                # The first label starts at the edge rather than being cut in half by it.
                "label_x": round(x + slot / 2, 1) if i else round(x, 1),
                "label_anchor": "middle" if i else "start",
            }
        )
    return {
        **c,
        "bars": bars,
        "highest": highest,
        "baseline": c["top"] + plot_height,
        "label_y": c["height"] - 6,
        "calls": sum(row["calls"] for row in hours),
        "conversations": sum(row["conversations"] for row in hours),
    }


def last_hours(counted: dict[dt.datetime, tuple[int, int]], now_hour: dt.datetime, n: int):
    """``n`` hours up to and including ``now_hour``, with hours without calls as zero."""
    hours = [now_hour - dt.timedelta(hours=n - 1 - i) for i in range(n)]
    return [
        {"hour": h, "calls": counted.get(h, (0, 0))[0], "conversations": counted.get(h, (0, 0))[1]}
        for h in hours
    ]


PROGRESS_PARTS = (
    ("done", "done"),
    ("waiting", "waiting to retry"),
    ("held", "with a volunteer now"),
    ("untouched", "not called yet"),
)


def progress_chart(figures: dict) -> dict:
    """One bar through the calling list: done, waiting, with a volunteer, not called yet."""
    total = figures["total"]
    counts = {
        "done": figures["done"],
        "waiting": figures["waiting"],
        "held": figures["held"],
    }
    counts["untouched"] = max(total - sum(counts.values()), 0)
    x, parts = 0.0, []
    for key, label in PROGRESS_PARTS:
        width = 100 * counts[key] / total if total else 0
        parts.append(
            {
                "key": key,
                "label": label,
                "n": counts[key],
                "x": round(x, 2),
                "width": round(width, 2),
                "percent": round(width),
            }
        )
        x += width
    return {"total": total, "parts": parts}
