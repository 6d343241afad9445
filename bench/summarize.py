#!/usr/bin/env python3
"""Markdown tables of benchmark results: medians and gort's speed-up over
each peer.

Reads result files of bench/run.sh (lines
``bench=NAME impl=IMPL cfg=K=V,... value=N unit=U``; lines starting with
``#`` are comments; ``# BUSY(...)`` lines, disturbed by other load, are left
out unless --include-busy) and prints, for each benchmark, one row per
(cfg, unit): the median of each implementation, with (min-max) when there
are several values, and for each peer the speed-up of gort over it.

The speed-up is a ratio of medians read as "how many times faster gort is":
for times, latencies and sizes (ns/op, ms, us, bytes/task: lower is better)
it is peer/gort, for rates (req/s: higher is better) gort/peer. Above 1
gort is ahead and the cell reads "1.52× faster"; below 1 the cell shows the
inverse, "2.10× slower". Units without a direction (count) get no ratio.
Rows of different implementations are matched by their exact cfg string.

    summarize.py bench/results/latest.txt
    summarize.py a.txt b.txt --impl gort --no-range
"""
import argparse
import statistics
import sys
from collections import OrderedDict

HIGHER_IS_BETTER = {"req/s"}
NO_RATIO = {"count"}
BUSY_PREFIX = "# BUSY("
# Peers in the order their columns appear; others follow in order of
# appearance. impl=machine (bench/calib) is the machine itself, no peer.
PEER_ORDER = ["go", "boost.fiber", "pthread"]
NOT_PEERS = {"machine"}


def parse(paths, include_busy=False):
    """Return (rows, impls): rows maps (bench, cfg, unit) to {impl: [values]}
    in the order first seen; impls lists implementations in that order."""
    rows = OrderedDict()
    impls = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line.startswith(BUSY_PREFIX) and include_busy:
                    line = line[line.index(") ") + 2:]
                if not line.startswith("bench="):
                    continue
                fields = dict(tok.split("=", 1) for tok in line.split() if "=" in tok)
                try:
                    key = (fields["bench"], fields["cfg"], fields["unit"])
                    impl = fields["impl"]
                    value = float(fields["value"])
                except (KeyError, ValueError):
                    print(f"summarize: bad line: {line}", file=sys.stderr)
                    continue
                rows.setdefault(key, {}).setdefault(impl, []).append(value)
                if impl not in impls:
                    impls.append(impl)
    return rows, impls


def peers_of(impls, impl="gort"):
    """The peers among impls, in PEER_ORDER first."""
    rest = [i for i in impls if i not in PEER_ORDER and i != impl and i not in NOT_PEERS]
    return [p for p in PEER_ORDER if p in impls] + rest


def speedup(impl_vals, peer_vals, unit):
    """How many times faster the impl is than the peer (ratio of medians,
    oriented by the unit), or None when it has no meaning."""
    if not impl_vals or not peer_vals or unit in NO_RATIO:
        return None
    m_impl = statistics.median(impl_vals)
    m_peer = statistics.median(peer_vals)
    if unit in HIGHER_IS_BETTER:
        num, den = m_impl, m_peer
    else:
        num, den = m_peer, m_impl
    if num <= 0 or den <= 0:
        return None
    return num / den


def speedups(rows, impl="gort", peers=None):
    """[(bench, cfg, unit, peer, speedup)] for every row where impl and a
    peer both have values."""
    out = []
    for (bench, cfg, unit), per in rows.items():
        for peer in peers if peers is not None else peers_of(list(per), impl):
            s = speedup(per.get(impl, []), per.get(peer, []), unit)
            if s is not None:
                out.append((bench, cfg, unit, peer, s))
    return out


def num(v):
    """About 3 significant digits, thousands separated."""
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def cell(values, show_range):
    if not values:
        return ""
    s = num(statistics.median(values))
    if show_range and len(values) > 1:
        s += f" ({num(min(values))}–{num(max(values))})"
    return s


def speedup_cell(s):
    if s is None:
        return ""
    if 0.995 <= s < 1.005:
        return "1.00× (same)"
    if s >= 1:
        return f"{s:.2f}× faster"
    return f"{1 / s:.2f}× slower"


LEGEND = """\
Medians of the rounds, (min–max) when there are several. "gort vs PEER":
how many times faster gort is than PEER, from the medians: PEER/gort for
times, latencies and sizes (lower is better), gort/PEER for req/s (higher
is better); "slower" gives the inverse when gort is behind. n: values per
implementation.
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--impl", default="gort", help="implementation measured (default gort)")
    ap.add_argument("--no-range", action="store_true", help="medians only, no (min–max)")
    ap.add_argument("--no-legend", action="store_true", help="leave out the legend")
    ap.add_argument("--include-busy", action="store_true",
                    help="count lines the runner marked as disturbed by other load")
    args = ap.parse_args()

    rows, impls = parse(args.files, args.include_busy)
    if not rows:
        print("no results", file=sys.stderr)
        return 1
    benches = OrderedDict()
    for key in rows:
        benches.setdefault(key[0], []).append(key)

    if not args.no_legend:
        print(LEGEND)
    for bench, keys in benches.items():
        present = [i for i in impls if any(i in rows[k] for k in keys)]
        peers = peers_of(present, args.impl)
        cols = ([args.impl] if args.impl in present else []) + peers + \
            [i for i in present if i in NOT_PEERS]
        # a speed-up column for each peer that shares a row with the impl
        vs = [p for p in peers if any(args.impl in rows[k] and p in rows[k] for k in keys)]
        print(f"### {bench}\n")
        print("| cfg | unit | " + " | ".join(cols) + "".join(f" | {args.impl} vs {p}" for p in vs)
              + " | n |")
        print("|---|---|" + "---:|" * (len(cols) + len(vs)) + "---:|")
        for key in keys:
            _, cfg, unit = key
            per = rows[key]
            cells = [cell(per.get(c, []), not args.no_range) for c in cols]
            ratios = [speedup_cell(speedup(per.get(args.impl, []), per.get(p, []), unit))
                      for p in vs]
            n = "/".join(str(len(per.get(c, []))) for c in cols)
            print(f"| {cfg} | {unit} | " + " | ".join(cells + ratios) + f" | {n} |")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
