"""Which area a shared location lies in (org file ``areas[].bounds``).  Pure.

An area's bounds are ``[[lat, lon], ...]``: two points are the opposite corners of a box
(any two opposite corners, in any order); three or more are a polygon, its points in order
around the edge (either direction; the last joins the first). A point on the edge counts as
inside. Areas are tried in the org file's order and the first that holds the point wins, so
a small area listed before a larger one that encloses it takes its own points.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

Point = tuple[float, float]

__all__ = ["area_at", "contains", "problem"]


def problem(points: Sequence[Sequence[float]]) -> str | None:
    """Why ``points`` are not usable bounds (None when they are)."""
    if len(points) < 2:
        return "give two opposite corners [[lat, lon], [lat, lon]] or three or more points of a polygon"
    for p in points:
        if len(p) != 2:
            return f"{list(p)} is not a [latitude, longitude] pair"
        lat, lon = p
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return f"[{lat}, {lon}] is not a [latitude, longitude] pair"
    if len(points) == 2:
        (south, west), (north, east) = points
        if south == north or west == east:
            return "the two corners of a box must differ in latitude and in longitude"
        return None
    if _twice_area(points) == 0:
        return "the polygon's points lie on one line"
    return None


def _twice_area(points: Sequence[Sequence[float]]) -> float:
    n = len(points)
    return sum(points[i][1] * points[(i + 1) % n][0] - points[(i + 1) % n][1] * points[i][0] for i in range(n))


def _on_segment(p: Sequence[float], a: Sequence[float], b: Sequence[float]) -> bool:
    cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
    return (abs(cross) < 1e-12 and min(a[0], b[0]) <= p[0] <= max(a[0], b[0])
            and min(a[1], b[1]) <= p[1] <= max(a[1], b[1]))


def contains(points: Sequence[Sequence[float]], lat: float, lon: float) -> bool:
    """Whether the point (lat, lon) lies in the bounds (a box or a polygon; the edge counts)."""
    if len(points) == 2:
        (south, west), (north, east) = points
        return min(south, north) <= lat <= max(south, north) and min(west, east) <= lon <= max(west, east)
    inside, n = False, len(points)
    for i in range(n):
        p, q = points[i], points[(i + 1) % n]
        if _on_segment((lat, lon), p, q):
            return True
        # Ray casting along the latitude axis: count the edges crossing the point's longitude line.
        if (p[1] > lon) != (q[1] > lon):
            at = p[0] + (lon - p[1]) * (q[0] - p[0]) / (q[1] - p[1])
            if lat < at:
                inside = not inside
    return inside


def area_at(areas: Iterable[tuple[str, Sequence[Sequence[float]] | None]], lat: float, lon: float) -> str | None:
    """The code of the first area whose bounds hold the point (areas without bounds are skipped)."""
    for code, bounds in areas:
        if bounds and contains(bounds, lat, lon):
            return code
    return None
