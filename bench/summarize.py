#!/usr/bin/env python3
"""Markdown tables of benchmark results.

Reads result files of bench/run.sh (lines
``bench=NAME impl=IMPL cfg=K=V,... value=N unit=U``; lines starting with
``#`` are comments) and prints, for each benchmark, one row per (cfg, unit):
the median of each implementation, with (min-max) when there are several
values, and the ratio base/impl of the medians ("x faster": above 1 means
IMPL did better than BASE; for rates such as req/s the ratio is impl/base).

    summarize.py bench/results/latest.txt
    summarize.py a.txt b.txt --impl gort --base go --no-range
"""
import argparse
import statistics
import sys
from collections import OrderedDict

HIGHER_IS_BETTER = {"req/s"}
NO_RATIO = {"count"}
BUSY_PREFIX = "# BUSY("


def parse(paths, include_busy):
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


def ratio(impl_vals, base_vals, unit):
    if not impl_vals or not base_vals or unit in NO_RATIO:
        return ""
    m_impl = statistics.median(impl_vals)
    m_base = statistics.median(base_vals)
    if unit in HIGHER_IS_BETTER:
        num_, den = m_impl, m_base
    else:
        num_, den = m_base, m_impl
    if den == 0:
        return ""
    return f"{num_ / den:.2f}×"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--impl", default="gort", help="implementation measured (default gort)")
    ap.add_argument("--base", default="go", help="implementation compared with (default go)")
    ap.add_argument("--no-range", action="store_true", help="medians only, no (min–max)")
    ap.add_argument("--include-busy", action="store_true",
                    help="count lines the runner marked as disturbed by other load")
    args = ap.parse_args()

    rows, impls = parse(args.files, args.include_busy)
    if not rows:
        print("no results", file=sys.stderr)
        return 1
    cols = [args.impl, args.base] + [i for i in impls if i not in (args.impl, args.base)]
    benches = OrderedDict()
    for key in rows:
        benches.setdefault(key[0], []).append(key)

    for bench, keys in benches.items():
        present = {i for k in keys for i in rows[k]}
        bcols = [c for c in cols if c in present or c in (args.impl, args.base)]
        print(f"### {bench}\n")
        print("| cfg | unit | " + " | ".join(bcols) + f" | {args.base}/{args.impl} (×faster) | n |")
        print("|---|---|" + "---:|" * len(bcols) + "---:|---:|")
        for key in keys:
            _, cfg, unit = key
            per = rows[key]
            cells = [cell(per.get(c, []), not args.no_range) for c in bcols]
            r = ratio(per.get(args.impl, []), per.get(args.base, []), unit)
            n = "/".join(str(len(per.get(c, []))) for c in bcols)
            print(f"| {cfg} | {unit} | " + " | ".join(cells) + f" | {r} | {n} |")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
