#!/usr/bin/env python3
# plot-performance.py: the figures of docs/performance.md, from the CSV that
# threadref-benchmark --csv writes
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Writes two SVG plots, drawn here with the standard library only (the
# project takes no plotting dependency), and can print the benchmark's table
# as Markdown:
#
#   performance-cancel-vs-load.svg  ns per register+cancel vs. live
#                                   registrations on the thread (log-log)
#   performance-ns-per-callback.svg    ns per callback, per variant
#
# Usage: plot-performance.py performance.csv [--outdir DIR] [--markdown FILE]
#
# DIR defaults to the repository's docs/ folder.

import argparse
import csv
import io
import math
import os
import sys

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#17becf", "#bcbd22"]
FONT = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\""


def read_csv(path):
    """Returns (notes, rows): the '# ' header lines and one dict per row."""
    notes = []
    body = []
    with io.open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                notes.append(line[1:].strip())
            else:
                body.append(line)
    rows = list(csv.DictReader(body))
    for row in rows:
        for key in ("median", "min", "max", "ratio"):
            row[key] = float(row[key]) if row[key] != "" else None
        row["param"] = int(row["param"])
        row["reps"] = int(row["reps"])
    return notes, rows


def escape(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&quot;"))


class Svg(object):
    def __init__(self, width, height):
        self.width = width
        self.height = height
        self.parts = []

    def add(self, text):
        self.parts.append(text)

    def line(self, x1, y1, x2, y2, colour="#000", width=1, dash=None):
        extra = ' stroke-dasharray="%s"' % dash if dash else ""
        self.add('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" '
                 'stroke-width="%s"%s/>' % (x1, y1, x2, y2, colour, width, extra))

    def text(self, x, y, text, size=12, anchor="start", colour="#000",
             weight="normal", rotate=None):
        transform = (' transform="rotate(%d %.1f %.1f)"' % (rotate, x, y)
                     if rotate else "")
        self.add('<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s" '
                 'fill="%s" font-weight="%s" %s%s>%s</text>'
                 % (x, y, size, anchor, colour, weight, FONT, transform,
                    escape(text)))

    def rect(self, x, y, w, h, colour, stroke="none"):
        self.add('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" '
                 'fill="%s" stroke="%s"/>' % (x, y, w, h, colour, stroke))

    def polyline(self, points, colour, dash=None):
        extra = ' stroke-dasharray="%s"' % dash if dash else ""
        self.add('<polyline points="%s" fill="none" stroke="%s" '
                 'stroke-width="2"%s/>'
                 % (" ".join("%.1f,%.1f" % p for p in points), colour, extra))

    def circle(self, x, y, r, colour):
        self.add('<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s"/>'
                 % (x, y, r, colour))

    def write(self, path):
        with io.open(path, "w", encoding="utf-8") as f:
            f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
            f.write('<svg xmlns="http://www.w3.org/2000/svg" width="%d" '
                    'height="%d" viewBox="0 0 %d %d">\n'
                    % (self.width, self.height, self.width, self.height))
            f.write('<rect width="100%" height="100%" fill="#fff"/>\n')
            for part in self.parts:
                f.write(part + "\n")
            f.write("</svg>\n")


def nice_log_ticks(low, high):
    """1, 2, 5 times powers of ten between low and high."""
    ticks = []
    exponent = int(math.floor(math.log10(low)))
    while True:
        for m in (1, 2, 5):
            value = m * 10 ** exponent
            if value > high:
                return ticks
            if value >= low:
                ticks.append(value)
        exponent += 1


def format_count(value):
    if value >= 1000000 and value % 1000000 == 0:
        return "%dM" % (value // 1000000)
    if value >= 1000 and value % 1000 == 0:
        return "%dk" % (value // 1000)
    return "%g" % value


def plot_cancel_vs_load(rows, path, subtitle):
    series = {}
    order = []
    for row in rows:
        if row["section"] != "cancel vs. load" or row["unit"] != "ns":
            continue
        key = (row["variant"], row["metric"])
        if key not in series:
            series[key] = (row["label"], [])
            order.append(key)
        series[key][1].append((row["param"], row["median"]))
    if not series:
        return False

    xs = [x for _, pts in series.values() for x, _ in pts]
    ys = [y for _, pts in series.values() for _, y in pts]
    x_low, x_high = min(xs) / 2.0, max(xs) * 2.0
    y_low, y_high = min(ys) / 1.6, max(ys) * 1.6

    svg = Svg(760, 460)
    left, right, top, bottom = 70, 250, 56, 400

    def px(x):
        return left + (math.log10(x) - math.log10(x_low)) / (
            math.log10(x_high) - math.log10(x_low)) * (760 - right - left)

    def py(y):
        return bottom - (math.log10(y) - math.log10(y_low)) / (
            math.log10(y_high) - math.log10(y_low)) * (bottom - top)

    svg.text(20, 24, "Cost of one register+cancel vs. registrations live on "
             "the same thread", 15, weight="bold")
    svg.text(20, 42, subtitle, 11, colour="#555")

    for tick in nice_log_ticks(y_low, y_high):
        svg.line(left, py(tick), 760 - right, py(tick), "#ddd")
        svg.text(left - 6, py(tick) + 4, "%g" % tick, 11, "end")
    exponent = int(math.ceil(math.log10(x_low)))
    while 10 ** exponent <= x_high:
        x = 10 ** exponent
        svg.line(px(x), top, px(x), bottom, "#ddd")
        svg.text(px(x), bottom + 16, format_count(x), 11, "middle")
        exponent += 1
    svg.line(left, bottom, 760 - right, bottom)
    svg.line(left, top, left, bottom)
    svg.text((left + 760 - right) / 2.0, bottom + 36,
             "other registrations live on the thread (log scale)", 12, "middle")
    svg.text(18, (top + bottom) / 2.0, "ns per register+cancel (log scale)",
             12, "middle", rotate=-90)

    variants = []
    for variant, _ in order:
        if variant not in variants:
            variants.append(variant)
    legend_y = top + 6
    for key in order:
        variant, metric = key
        label, points = series[key]
        colour = PALETTE[variants.index(variant) % len(PALETTE)]
        dash = "6,4" if "oldest" in metric else None
        points.sort()
        svg.polyline([(px(x), py(y)) for x, y in points], colour, dash)
        for x, y in points:
            svg.circle(px(x), py(y), 3, colour)
        svg.line(760 - right + 16, legend_y, 760 - right + 44, legend_y,
                 colour, 2, dash)
        svg.text(760 - right + 50, legend_y + 4, label, 11)
        svg.text(760 - right + 50, legend_y + 17,
                 metric.replace("register+cancel ", "cancel the ") + " one",
                 10, colour="#555")
        legend_y += 34

    svg.write(path)
    return True


def plot_per_callback(rows, path, subtitle):
    wanted = [r for r in rows if r["section"] == "per callback"]
    if not wanted:
        return False
    sizes = sorted(set(r["param"] for r in wanted))
    metrics = ["register+fire", "register+cancel"]
    bars = [(m, n) for m in metrics for n in sizes]
    variants = []
    for row in wanted:
        if (row["variant"], row["label"]) not in variants:
            variants.append((row["variant"], row["label"]))
    value = dict(((r["variant"], r["metric"], r["param"]), r["median"])
                 for r in wanted)
    high = max(v for v in value.values() if v is not None)

    bar_h, gap = 9, 12
    group_h = len(bars) * bar_h + gap
    left, right, top = 190, 70, 76
    height = top + group_h * len(variants) + 50
    width = 760
    svg = Svg(width, height)
    scale = (width - left - right) / (high * 1.05)

    svg.text(20, 24, "ns per callback: (thread that registers N and ends − "
             "empty thread) / N", 15, weight="bold")
    svg.text(20, 42, subtitle, 11, colour="#555")
    legend_x = 20
    for i, (metric, n) in enumerate(bars):
        colour = PALETTE[i % len(PALETTE)]
        svg.rect(legend_x, 52, 12, 10, colour)
        svg.text(legend_x + 16, 61, "%s, N = %s" % (metric, format_count(n)), 11)
        legend_x += 180

    step = 50 if high < 600 else 100
    tick = 0
    while tick <= high * 1.05:
        x = left + tick * scale
        svg.line(x, top - 4, x, height - 44, "#eee")
        svg.text(x, height - 30, "%d" % tick, 11, "middle")
        tick += step
    svg.text(left + (width - left - right) / 2.0, height - 12, "ns", 12, "middle")

    y = top
    for variant, label in variants:
        svg.text(left - 8, y + group_h / 2.0, label, 11, "end")
        for i, (metric, n) in enumerate(bars):
            v = value.get((variant, metric, n))
            if v is not None:
                w = max(v, 0) * scale
                svg.rect(left, y, w, bar_h - 1, PALETTE[i % len(PALETTE)])
                svg.text(left + w + 4, y + bar_h - 1, "%.0f" % v, 9, colour="#333")
            y += bar_h
        y += gap
    svg.line(left, top - 4, left, height - 44)

    svg.write(path)
    return True


def format_value(row, value):
    if value is None:
        return "-"
    if row["unit"] in ("ns", "B"):
        return "%.1f" % value
    return "%.2f" % value


def markdown(notes, rows):
    out = []
    for note in notes:
        out.append("    %s" % note)
    section = None
    for row in rows:
        if row["section"] != section:
            section = row["section"]
            out.append("")
            out.append("#### %s%s" % (section[0].upper(), section[1:]))
            out.append("")
            out.append("| figure | variant | N | median | min..max | ratio | target |")
            out.append("|---|---|--:|--:|--:|--:|---|")
        spread = ("%s..%s" % (format_value(row, row["min"]),
                              format_value(row, row["max"]))
                  if row["reps"] > 1 else "")
        ratio = "%.2f" % row["ratio"] if row["ratio"] is not None else ""
        target = ("%s **%s**" % (row["target"], row["status"])
                  if row["target"] else "")
        out.append("| %s | %s | %s | %s %s | %s | %s | %s |" % (
            row["metric"].replace("|", "\\|"), row["label"],
            row["param"] or "", format_value(row, row["median"]), row["unit"],
            spread, ratio, target.replace("|", "\\|")))
    return "\n".join(out) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(
        description="Plot the threadref benchmark CSV as SVG.")
    parser.add_argument("csv", help="the file threadref-benchmark --csv wrote")
    parser.add_argument("--outdir", default=os.path.join(here, "..", "..", "docs"),
                        help="where to write the SVG files (default: docs/)")
    parser.add_argument("--markdown", metavar="FILE",
                        help="also write the table as Markdown ('-': stdout)")
    args = parser.parse_args()

    notes, rows = read_csv(args.csv)
    subtitle = notes[1] if len(notes) > 1 else ""
    if len(notes) > 2:
        subtitle += "; " + notes[2].split(";")[0]

    outputs = [
        ("performance-cancel-vs-load.svg", plot_cancel_vs_load),
        ("performance-ns-per-callback.svg", plot_per_callback),
    ]
    for name, plot in outputs:
        path = os.path.join(args.outdir, name)
        if plot(rows, path, subtitle):
            print("wrote %s" % os.path.normpath(path))
        else:
            print("no data for %s" % name, file=sys.stderr)

    if args.markdown == "-":
        sys.stdout.write(markdown(notes, rows))
    elif args.markdown:
        with io.open(args.markdown, "w", encoding="utf-8") as f:
            f.write(markdown(notes, rows))
        print("wrote %s" % args.markdown)


if __name__ == "__main__":
    main()
