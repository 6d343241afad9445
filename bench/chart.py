#!/usr/bin/env python3
"""SVG bar chart of gort's speed-up over each peer.

Reads result files of bench/run.sh (as summarize.py does, whose parsing and
speed-up it shares) and draws one horizontal bar per (benchmark, cfg, peer):
how many times faster gort is than the peer, from the medians (peer/gort
for times, latencies and sizes; gort/peer for req/s). The axis is
logarithmic and centred on 1: a bar to the right means gort is ahead, to the
left behind; bars beyond the axis end are cut and marked with an arrow.
Standard library only.

    chart.py bench/results/latest.txt -o docs/benchmarks.svg
    chart.py a.txt --title "..." --only 'spawn|pingpong'
"""
import argparse
import math
import os
import re
import sys
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import summarize  # noqa: E402  (the sibling module)

COLORS = {"go": "#00a0c8", "boost.fiber": "#e07b39", "pthread": "#7a7a7a"}
OTHER_COLORS = ["#6a51a3", "#2ca25f", "#de2d26"]

ROW_H = 15          # one bar
GROUP_GAP = 22      # heading of a benchmark
CHAR_W = 6.4        # width of a label character, about (11 px sans)
PLOT_W = 460        # the axis
VALUE_W = 70        # numbers right of the axis
TOP = 70
BOTTOM = 40
FONT = "font-family='DejaVu Sans,Verdana,sans-serif'"


def color_of(peer, peers):
    if peer in COLORS:
        return COLORS[peer]
    return OTHER_COLORS[[p for p in peers if p not in COLORS].index(peer) % len(OTHER_COLORS)]


def axis_limit(values):
    """The axis runs from 1/L to L, L a power of 2 in [4, 64] that holds
    most bars (outliers are cut, not allowed to squash the rest)."""
    logs = sorted(abs(math.log2(v)) for v in values)
    if not logs:
        return 4
    p90 = logs[min(len(logs) - 1, int(0.9 * len(logs)))]
    return 2 ** max(2, min(6, math.ceil(p90 + 0.1)))


def label_of(cfg, unit):
    return f"{cfg} [{unit}]"


def fmt_ratio(s):
    if s >= 10:
        return f"{s:.0f}×"
    if s >= 1:
        return f"{s:.2f}×"
    return f"1/{1 / s:.2f}" if 1 / s < 10 else f"1/{1 / s:.0f}"


def draw(rows, impl, title, subtitle):
    data = summarize.speedups(rows, impl)
    if not data:
        return None
    order = {}
    for d in data:
        order.setdefault(d[0], len(order))
    data.sort(key=lambda d: order[d[0]])  # stable: rows keep their order
    peers = summarize.peers_of([d[3] for d in data], impl)
    lim = axis_limit([d[4] for d in data])
    span = math.log2(lim)
    label_w = 20 + CHAR_W * max(len(label_of(d[1], d[2])) for d in data)
    x0 = label_w + PLOT_W / 2  # the 1.0 line

    def x_of(s):
        v = max(-span, min(span, math.log2(s)))
        return x0 + v / span * (PLOT_W / 2)

    # layout: a heading per benchmark, then its bars in the order of the data
    items = []
    y = TOP
    bench = None
    row = None
    for b, cfg, unit, peer, s in data:
        if b != bench:
            y += GROUP_GAP if bench is not None else 6
            items.append(("head", y, b))
            y += 16
            bench = b
        # the label once per row of the table, its peers' bars below it
        items.append(("bar", y, (cfg, unit, peer, s, (b, cfg, unit) != row)))
        row = (b, cfg, unit)
        y += ROW_H
    height = y + BOTTOM
    width = int(label_w + PLOT_W + VALUE_W + 10)

    out = []
    out.append(f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
               f"viewBox='0 0 {width} {height}' {FONT} font-size='11'>")
    out.append(f"<rect width='{width}' height='{height}' fill='white'/>")
    out.append(f"<text x='10' y='20' font-size='15' font-weight='bold'>{escape(title)}</text>")
    if subtitle:
        out.append(f"<text x='10' y='37' fill='#444'>{escape(subtitle)}</text>")
    # legend
    lx = 10
    for peer in peers:
        out.append(f"<rect x='{lx}' y='47' width='12' height='10' fill='{color_of(peer, peers)}'/>")
        t = f"{impl} vs {peer}"
        out.append(f"<text x='{lx + 16}' y='56'>{escape(t)}</text>")
        lx += 16 + 7 * len(t) + 18
    out.append(f"<text x='{x0 + 4}' y='{TOP - 2}' fill='#444'>{escape(impl)} faster →</text>")
    out.append(f"<text x='{x0 - 4}' y='{TOP - 2}' fill='#444' text-anchor='end'>"
               f"← {escape(impl)} slower</text>")

    # grid: powers of 2 from 1/lim to lim
    k = int(span)
    for e in range(-k, k + 1):
        x = x0 + e / span * (PLOT_W / 2)
        stroke = "#333" if e == 0 else "#ddd"
        out.append(f"<line x1='{x:.1f}' y1='{TOP}' x2='{x:.1f}' y2='{y + 4}' stroke='{stroke}'/>")
        lab = f"{2 ** e}×" if e >= 0 else f"1/{2 ** -e}"
        out.append(f"<text x='{x:.1f}' y='{y + 18}' text-anchor='middle' fill='#444'>{lab}</text>")

    for kind, yy, what in items:
        if kind == "head":
            out.append(f"<text x='10' y='{yy + 10}' font-weight='bold'>{escape(what)}</text>")
            continue
        cfg, unit, peer, s, labelled = what
        top = yy + 2
        xa, xb = sorted((x0, x_of(s)))
        if labelled:
            out.append(f"<text x='{label_w - 6:.0f}' y='{top + 9}' text-anchor='end'>"
                       f"{escape(label_of(cfg, unit))}</text>")
        out.append(f"<rect x='{xa:.1f}' y='{top}' width='{max(xb - xa, 1):.1f}' "
                   f"height='{ROW_H - 4}' fill='{color_of(peer, peers)}'>"
                   f"<title>{escape(f'{cfg} [{unit}]: {impl} vs {peer}: {fmt_ratio(s)}')}</title></rect>")
        if abs(math.log2(s)) > span:  # cut: an arrowhead at the axis end
            xe = x_of(s)
            d = 6 if s > 1 else -6
            out.append(f"<path d='M{xe:.1f},{top} l{d},{(ROW_H - 4) / 2} l{-d},{(ROW_H - 4) / 2} z' "
                       f"fill='{color_of(peer, peers)}'/>")
        tx = label_w + PLOT_W + 6
        out.append(f"<text x='{tx}' y='{top + 9}'>{escape(fmt_ratio(s))}</text>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("-o", "--output", default="-", help="SVG file (default stdout)")
    ap.add_argument("--impl", default="gort", help="implementation measured (default gort)")
    ap.add_argument("--only", default=".", help="regex: benchmarks to draw")
    ap.add_argument("--title", default="gort's speed relative to its peers")
    ap.add_argument("--subtitle", default="ratio of medians, log scale; right of 1: gort faster "
                    "(peer/gort for ns, ms, us, bytes; gort/peer for req/s)")
    ap.add_argument("--include-busy", action="store_true",
                    help="count lines the runner marked as disturbed by other load")
    args = ap.parse_args()

    rows, _ = summarize.parse(args.files, args.include_busy)
    only = re.compile(args.only)
    rows = {k: v for k, v in rows.items() if only.search(k[0])}
    svg = draw(rows, args.impl, args.title, args.subtitle)
    if svg is None:
        print("chart: no row has both gort and a peer", file=sys.stderr)
        return 1
    if args.output == "-":
        sys.stdout.write(svg)
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(svg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
