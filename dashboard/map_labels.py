"""Where the map's names go so that they stay legible on a 390 px wide phone.

The figure is built on the server, which does not know the screen, and plotly does not move
overlapping text; so the names are laid out once for the narrowest screen the dashboard serves
(wider screens only have more room).  Each name goes on or beside its point where it overlaps no
other name or point there; the rest (the small central districts of a city map) go in two columns
beside the crowd, with a leader line to their unit.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PHONE_MAP_PX = (330, 420)
"""The map's drawing area on a 390 px wide phone (the card's inner width; the colour bar sits below)."""
FONT_PX, LINE_PX, GAP_PX = 11, 18, 22
POSITIONS = ("middle center", "top center", "bottom center", "middle right", "middle left")

Box = tuple[float, float, float, float]  # left, top, right, bottom in px, y down


@dataclass(frozen=True)
class Layout:
    positions: list[str | None]
    """Per name: a plotly ``textposition`` beside its point, or None when it is in a callout."""
    callouts: list[tuple[float, float] | None]
    """Per name in a callout: (x, y) in data coordinates of the callout's end nearer the crowd."""
    extent: tuple[float, float, float, float]
    """The map's (min x, max x, min y, max y), widened to hold every name."""


def text_width(text: str, font_px: float = FONT_PX) -> float:
    """Rough width in px: a CJK character is a full em, a Latin one about half."""
    return sum(font_px if ord(c) > 0x2E80 else font_px * 0.55 for c in text)


def place_labels(names: Sequence[str], xs: Sequence[float], ys: Sequence[float],
                 extent: tuple[float, float, float, float], ratio: float, marker_px: float,
                 positions_tried: Sequence[str] = POSITIONS) -> Layout:
    """Lay the names of points (xs, ys) out on a map of ``extent`` whose y is drawn ``ratio`` times x."""
    x0, x1, y0, y1 = extent
    scale = min(PHONE_MAP_PX[0] / max(x1 - x0, 1e-9), PHONE_MAP_PX[1] / max((y1 - y0) * ratio, 1e-9))
    px = [(x - x0) * scale for x in xs]
    py = [(y1 - y) * ratio * scale for y in ys]
    width = [text_width(n) + 4 for n in names]
    radius = marker_px / 2
    markers = [(px[i] - radius, py[i] - radius, px[i] + radius, py[i] + radius) for i in range(len(names))]
    positions: list[str | None] = [None] * len(names)
    boxes: dict[int, Box] = {}
    crowd: set[int] = set()
    pending = sorted(range(len(names)), key=lambda i: py[i])
    callouts: dict[int, Box] = {}
    for _ in range(4):
        for i in pending:
            taken = [b for j, b in boxes.items() if j != i] + list(callouts.values()) + \
                    [m for j, m in enumerate(markers) if j != i]
            for position in positions_tried:
                box = _box(position, px[i], py[i], width[i], radius)
                if not any(_overlap(box, b) for b in taken):
                    positions[i], boxes[i] = position, box
                    break
            else:
                crowd.add(i)
        callouts = _columns(sorted(crowd), px, py, width)
        pending = [i for i, b in boxes.items() if any(_overlap(b, c) for c in callouts.values())]
        if not pending:
            break
        for i in pending:
            positions[i] = None
            del boxes[i]
    unplaced = {i for i in range(len(names)) if positions[i] is None} - crowd
    if unplaced:
        crowd |= unplaced
        callouts = _columns(sorted(crowd), px, py, width)
    for i in crowd:
        positions[i] = None
    ends = [None if i not in callouts else
            (x0 + _near_edge(callouts[i], px[i]) / scale, y1 - (callouts[i][1] + callouts[i][3]) / 2 / (ratio * scale))
            for i in range(len(names))]
    for left, top, right, bottom in [*callouts.values(), *(boxes[i] for i in boxes if i not in crowd)]:
        x0, x1 = min(x0, extent[0] + left / scale), max(x1, extent[0] + right / scale)
        y0, y1 = min(y0, extent[3] - bottom / (ratio * scale)), max(y1, extent[3] - top / (ratio * scale))
    return Layout(positions, ends, (x0, x1, y0, y1))


def _box(position: str, x: float, y: float, width: float, radius: float) -> Box:
    half, h = width / 2, FONT_PX / 2 + 2
    return {"middle center": (x - half, y - h, x + half, y + h),
            "top center": (x - half, y - radius - 2 * h, x + half, y - radius),
            "bottom center": (x - half, y + radius, x + half, y + radius + 2 * h),
            "middle right": (x + radius, y - h, x + radius + width, y + h),
            "middle left": (x - radius - width, y - h, x - radius, y + h)}[position]


def _columns(crowd: list[int], px: list[float], py: list[float], width: list[float]) -> dict[int, Box]:
    """Boxes for the crowd's names: a column left of it and one right, each in north-south order."""
    if not crowd:
        return {}
    middle = sorted(px[i] for i in crowd)[len(crowd) // 2]
    left_edge = min(px[i] for i in crowd) - GAP_PX
    right_edge = max(px[i] for i in crowd) + GAP_PX
    boxes: dict[int, Box] = {}
    for left, side in ((True, [i for i in crowd if px[i] < middle]), (False, [i for i in crowd if px[i] >= middle])):
        side.sort(key=lambda i: py[i])
        top = sum(py[i] for i in side) / max(len(side), 1) - LINE_PX * len(side) / 2
        for k, i in enumerate(side):
            y = top + LINE_PX * k
            boxes[i] = ((left_edge - width[i], y, left_edge, y + LINE_PX - 2) if left
                        else (right_edge, y, right_edge + width[i], y + LINE_PX - 2))
    return boxes


def _near_edge(box: Box, x: float) -> float:
    return box[2] if box[2] <= x else box[0]


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
