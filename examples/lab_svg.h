/*
 * lab_svg.h - the lab's plot: completion-time distributions as CDF lines
 * in a standalone SVG 1.1 file, written with stdio alone (no plotting
 * library). A part of the lab program (lab.c), built into it.
 *
 * Each series is one configuration's completion times, sorted ascending,
 * in nanoseconds; it is drawn as the empirical CDF: the point (t_i, i/n)
 * for its i-th smallest time t_i, after a first point at (t_0, 0). Two
 * panels show every series: one with a linear time axis in milliseconds,
 * one with a logarithmic one (decades with 1-2-5 ticks), so that a 10 ms
 * sleep and a 10 s queue can both be read; the y axis is the fraction
 * completed, 0 to 1. The caller picks each series' colour
 * and dash pattern by index, and which lines are wide (a wide line drawn
 * first stays visible where a later one lies on it); a legend names
 * every series.
 */
#ifndef GORT_EXAMPLE_LAB_SVG_H
#define GORT_EXAMPLE_LAB_SVG_H

#include <stdbool.h>
#include <stdint.h>

struct lab_series {
	const char *label;     /* legend text (escaped when written) */
	const int64_t *sorted; /* completion times, ns, ascending */
	long n;                /* how many; at least 1 */
	int color;             /* index into the palette (wraps) */
	int dash;              /* index into the dash patterns (wraps) */
	bool wide;             /* a wider line: shows under one drawn later */
};

/* Write the plot of series[0..nseries) with title to path. Returns 0, or
 * -1 with errno: EINVAL for no series, an empty one or a NULL argument,
 * else the error of creating or writing the file. */
int lab_svg_write(const char *path, const char *title,
                  const struct lab_series *series, int nseries);

#endif /* GORT_EXAMPLE_LAB_SVG_H */
