"""Line charts as inline SVG text: no plotting library, no script, no external assets.

Used by the HTML report; the coordinates are plain linear maps so a test can
check where each point lands. Non-finite values break a line into pieces.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf")


@dataclass
class Line:
    label: str
    x: list
    y: list
    color: str = ""
    dashed: bool = False


@dataclass(frozen=True)
class Frame:
    """Pixel box of the plot area and the data range it shows."""

    left: float
    top: float
    width: float
    height: float
    x0: float
    x1: float
    y0: float
    y1: float
    y_step: float = 1.0

    def px(self, x: float) -> float:
        return self.left + (x - self.x0) / (self.x1 - self.x0) * self.width

    def py(self, y: float) -> float:
        return self.top + (self.y1 - y) / (self.y1 - self.y0) * self.height


def nice_step(span: float, target: int = 5) -> float:
    """1, 2 or 5 times a power of ten, giving about ``target`` intervals over ``span``."""
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * mag >= raw * 0.999:
            return m * mag
    return 10 * mag


def nice_range(lo: float, hi: float, target: int = 5) -> tuple[float, float, float]:
    """(start, stop, step): the data range widened to whole steps; a flat range gets some room."""
    if hi <= lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo, target)
    return math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step, step


def ticks(start: float, stop: float, step: float) -> list[float]:
    n = int(round((stop - start) / step))
    return [start + i * step for i in range(n + 1)]


def fmt(v: float, step: float) -> str:
    if v == 0:
        return "0"
    if 1e-4 <= step < 1e6:
        d = max(0, -math.floor(math.log10(step) + 1e-9))
        return f"{v:.{d}f}"
    return f"{v:.2g}"


def _finite(v) -> bool:
    try:
        return v is not None and not isinstance(v, bool) and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def frame_for(lines, *, width=520, height=260, y_range=None) -> Frame | None:
    xs = [x for ln in lines for x, y in zip(ln.x, ln.y) if _finite(x) and _finite(y)]
    ys = [y for ln in lines for x, y in zip(ln.x, ln.y) if _finite(x) and _finite(y)]
    if not xs:
        return None
    x0, x1 = min(xs), max(xs)
    if x1 <= x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    lo, hi = min(ys), max(ys)
    if y_range is not None:  # e.g. (0, 1) for accuracy: widened, never narrowed, to fit the data
        lo, hi = min(lo, y_range[0]), max(hi, y_range[1])
    y0, y1, step = nice_range(lo, hi)
    return Frame(left=62, top=30, width=width - 62 - 16, height=height - 30 - 44, x0=x0, x1=x1, y0=y0, y1=y1, y_step=step)


def line_chart(lines, *, title="", x_label="", y_label="", width=520, height=260, y_range=None) -> str:
    """An ``<svg>`` element with axes, grid, one polyline per finite run of each line, and a legend."""
    lines = [Line(ln.label, list(ln.x), list(ln.y), ln.color or PALETTE[i % len(PALETTE)], ln.dashed)
             for i, ln in enumerate(lines)]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" class="chart">',
           f"<title>{escape(title)}</title>",
           f'<text x="{width / 2:.1f}" y="18" text-anchor="middle" font-size="14" font-weight="bold">{escape(title)}</text>']
    f = frame_for(lines, width=width, height=height, y_range=y_range)
    if f is None:
        out.append(f'<text x="{width / 2:.1f}" y="{height / 2:.1f}" text-anchor="middle" fill="#777">no data yet</text>')
        out.append("</svg>")
        return "\n".join(out)
    out.append(f'<rect x="{f.left:.1f}" y="{f.top:.1f}" width="{f.width:.1f}" height="{f.height:.1f}" '
               'fill="none" stroke="#999"/>')
    y_step = f.y_step
    for v in ticks(f.y0, f.y1, y_step):
        y = f.py(v)
        out.append(f'<line x1="{f.left:.1f}" y1="{y:.1f}" x2="{f.left + f.width:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{f.left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{fmt(v, y_step)}</text>')
    x_step = nice_step(f.x1 - f.x0)
    first = math.ceil(f.x0 / x_step - 1e-9) * x_step
    n = int(math.floor((f.x1 - first) / x_step + 1e-9)) + 1 if first <= f.x1 else 0
    for v in (first + i * x_step for i in range(n)):
        x = f.px(v)
        bottom = f.top + f.height
        out.append(f'<line x1="{x:.1f}" y1="{bottom:.1f}" x2="{x:.1f}" y2="{bottom + 4:.1f}" stroke="#999"/>')
        out.append(f'<text x="{x:.1f}" y="{bottom + 16:.1f}" text-anchor="middle" font-size="11">{fmt(v, x_step)}</text>')
    if x_label:
        out.append(f'<text x="{f.left + f.width / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                   f'font-size="12">{escape(x_label)}</text>')
    if y_label:
        out.append(f'<text x="14" y="{f.top + f.height / 2:.1f}" text-anchor="middle" font-size="12" '
                   f'transform="rotate(-90 14 {f.top + f.height / 2:.1f})">{escape(y_label)}</text>')
    for ln in lines:
        dash = ' stroke-dasharray="5 3"' if ln.dashed else ""
        for run in runs(ln.x, ln.y):
            pts = " ".join(f"{f.px(x):.2f},{f.py(y):.2f}" for x, y in run)
            if len(run) == 1:
                out.append(f'<circle cx="{f.px(run[0][0]):.2f}" cy="{f.py(run[0][1]):.2f}" r="2.5" fill="{ln.color}" '
                           f'data-series="{escape(ln.label)}"/>')
            else:
                out.append(f'<polyline points="{pts}" fill="none" stroke="{ln.color}" stroke-width="1.8"{dash} '
                           f'data-series="{escape(ln.label)}"/>')
    lx = f.left + f.width - 110
    out.append(f'<rect x="{lx - 5:.1f}" y="{f.top + 3:.1f}" width="108" height="{15 * len(lines) + 5}" '
               'fill="white" fill-opacity="0.85" stroke="#ccc"/>')
    for i, ln in enumerate(lines):
        y = f.top + 12 + 15 * i
        x = lx
        out.append(f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 18:.1f}" y2="{y - 4:.1f}" '
                   f'stroke="{ln.color}" stroke-width="2"/>')
        out.append(f'<text x="{x + 23:.1f}" y="{y:.1f}" font-size="11">{escape(ln.label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def runs(xs, ys) -> list[list[tuple[float, float]]]:
    """Consecutive finite (x, y) points; a NaN, inf or None ends a run."""
    out, cur = [], []
    for x, y in zip(xs, ys):
        if _finite(x) and _finite(y):
            cur.append((float(x), float(y)))
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out
