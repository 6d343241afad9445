/*
 * lab_svg.c - the lab's CDF plot as SVG 1.1 (see lab_svg.h).
 *
 * The picture: a title on top, two panels side by side, the legend below
 * them. Both panels draw every series; they differ in the x axis:
 *  - linear, from 0 to the first tick past the largest time: the shape
 *    the lab is about (an even spread is a straight diagonal, goroutines
 *    finishing together a vertical step);
 *  - logarithmic, [lo, hi] ms: short times (the sleepers' few ms beside
 *    seconds of CPU work) get room of their own.
 * On the log axis hi is the smallest 1-2-5 step not below the largest
 * time of any series, lo the largest one not above the smallest time.
 *
 * Everything is drawn in the file's own user units (1 unit = 1 px at the
 * default size); text is escaped for XML, and the document declares its
 * encoding and the SVG namespace, so that it stands alone: a browser, an
 * XML parser or an SVG editor reads it as it is. A series' polyline
 * leaves out the points that land within a quarter unit, in x, of the
 * previous one drawn, but the last of such a run, and always keeps its
 * first and last point: the line stays within a quarter unit of every
 * point, and goroutines that finish together (a vertical step) cost two
 * points instead of one each. (A test on both coordinates would keep
 * every point of 1,000: each is 0.4 units above the one before.)
 */
#include "lab_svg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>

enum {
	WIDTH = 1100,
	PLOT_TOP = 70,
	PLOT_BOTTOM = 470,
	LEGEND_TOP = 540,
	LEGEND_ROW = 22,
	LEGEND_COLS = 4,
	LEGEND_COL_WIDTH = 255,
};

static const char *const palette[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
	"#ff7f0e", "#8c564b", "#e377c2", "#17becf",
};
static const char *const dashes[] = {"none", "9 4", "2 3", "12 3 3 3"};

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* One panel: where it is and what its x axis spans (ms). */
struct panel {
	int left, right;
	bool log;
	double lo, hi;
	double step; /* linear: between ticks */
	const char *xlabel;
};

/* xml_text writes s escaped for character data and attribute values;
 * control characters XML 1.0 forbids become '?'. */
static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			fputc(c < 0x20 && c != '\t' && c != '\n' && c != '\r' ? '?' : c, f);
		}
	}
}

/* nice_step returns the 1-2-5 step next to v > 0: the smallest not below
 * it (up) or the largest not above it. */
static double nice_step(double v, bool up)
{
	static const double mant[] = {1, 2, 5, 10};
	double base = pow(10, floor(log10(v)));
	if (up) {
		for (int i = 0; i < 4; i++)
			if (mant[i] * base >= v * (1 - 1e-12))
				return mant[i] * base;
		return 10 * base;
	}
	for (int i = 3; i >= 0; i--)
		if (mant[i] * base <= v * (1 + 1e-12))
			return mant[i] * base;
	return base;
}

/* time_range finds the nice bounds [*lo, *hi] (ms) of all series and
 * their largest time *max. */
static void time_range(const struct lab_series *s, int ns, double *lo,
                       double *hi, double *max)
{
	double a = INFINITY, b = 0;
	for (int i = 0; i < ns; i++) {
		double first = (double)s[i].sorted[0] / 1e6;
		double last = (double)s[i].sorted[s[i].n - 1] / 1e6;
		a = first < a ? first : a;
		b = last > b ? last : b;
	}
	if (a < 1e-3) /* 1 µs: a time this short is no finish at all */
		a = 1e-3;
	if (b < a)
		b = a;
	*max = b;
	*lo = nice_step(a, false);
	*hi = nice_step(b, true);
	if (*hi <= *lo)
		*hi = nice_step(*lo * 1.5, true);
}

static double x_of(const struct panel *pn, double ms)
{
	double frac;
	if (pn->log) {
		double l = ms > 0 ? log10(ms) : log10(pn->lo);
		frac = (l - log10(pn->lo)) / (log10(pn->hi) - log10(pn->lo));
	} else {
		frac = (ms - pn->lo) / (pn->hi - pn->lo);
	}
	frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
	return pn->left + frac * (pn->right - pn->left);
}

static double y_of(double frac)
{
	return PLOT_BOTTOM - frac * (PLOT_BOTTOM - PLOT_TOP);
}

static void x_tick(FILE *f, const struct panel *pn, double v, bool label)
{
	double x = x_of(pn, v);
	fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n",
	        x, PLOT_TOP, x, PLOT_BOTTOM);
	fprintf(f, "<line class=\"axis\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n",
	        x, PLOT_BOTTOM, x, PLOT_BOTTOM + 5);
	if (label)
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n",
		        x, PLOT_BOTTOM + 19, v);
}

static void draw_x_axis(FILE *f, const struct panel *pn)
{
	if (pn->log) {
		static const int mant[] = {1, 2, 5};
		double decades = log10(pn->hi) - log10(pn->lo);
		double per_decade = (pn->right - pn->left) / decades;
		for (int e = (int)floor(log10(pn->lo)); e <= (int)ceil(log10(pn->hi)); e++)
			for (int i = 0; i < 3; i++) {
				double v = mant[i] * pow(10, e);
				if (v < pn->lo * (1 - 1e-9) || v > pn->hi * (1 + 1e-9))
					continue;
				/* Labels need room: 2 and 5 lie 0.3 decade from
				 * their neighbours, 5 and 10 too. */
				bool label = mant[i] == 1 || per_decade >= 250 ||
				             (mant[i] == 5 && per_decade >= 160);
				x_tick(f, pn, v, label);
			}
	} else {
		for (double v = pn->lo; v <= pn->hi * (1 + 1e-9); v += pn->step)
			x_tick(f, pn, v, true);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (pn->left + pn->right) / 2,
	        PLOT_BOTTOM + 42);
	xml_text(f, pn->xlabel);
	fputs("</text>\n", f);
}

static void draw_y_axis(FILE *f, const struct panel *pn)
{
	for (int k = 0; k <= 10; k++) {
		double y = y_of(k / 10.0);
		fprintf(f, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n",
		        pn->left, y, pn->right, y);
		fprintf(f, "<line class=\"axis\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n",
		        pn->left - 5, y, pn->left, y);
		if (k % 2 == 0)
			fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n",
			        pn->left - 9, y + 4, k / 10.0);
	}
	int cx = pn->left - 50, cy = (PLOT_TOP + PLOT_BOTTOM) / 2;
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
	           "transform=\"rotate(-90 %d %d)\">fraction of goroutines completed</text>\n",
	        cx, cy, cx, cy);
}

static void line_style(FILE *f, const struct lab_series *s)
{
	fprintf(f, "fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" stroke-dasharray=\"%s\"",
	        palette[(unsigned)s->color % NELEM(palette)], s->wide ? "4.5" : "1.6",
	        dashes[(unsigned)s->dash % NELEM(dashes)]);
}

static void draw_series(FILE *f, const struct panel *pn, const struct lab_series *s)
{
	fputs("<polyline class=\"cdf\" ", f);
	line_style(f, s);
	fputs(" points=\"", f);
	double lx = x_of(pn, (double)s->sorted[0] / 1e6);
	fprintf(f, "%.2f,%.2f", lx, y_of(0));
	/* The CDF only rises and moves right: the points left out between
	 * the last one drawn and the one held, all in the same quarter unit
	 * of x, lie beside the vertical segment that joins them. */
	bool held = false;
	double hx = 0, hy = 0;
	for (long i = 0; i < s->n; i++) {
		double x = x_of(pn, (double)s->sorted[i] / 1e6);
		double y = y_of((double)(i + 1) / (double)s->n);
		if (i != s->n - 1 && fabs(x - lx) < 0.25) {
			held = true;
			hx = x;
			hy = y;
			continue;
		}
		if (held && fabs(x - lx) >= 0.25)
			fprintf(f, " %.2f,%.2f", hx, hy);
		held = false;
		fprintf(f, " %.2f,%.2f", x, y);
		lx = x;
	}
	fputs("\"><title>", f);
	xml_text(f, s->label);
	fputs("</title></polyline>\n", f);
}

static void draw_panel(FILE *f, const struct panel *pn,
                       const struct lab_series *s, int ns)
{
	fprintf(f, "<g class=\"panel\">\n");
	draw_x_axis(f, pn);
	draw_y_axis(f, pn);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
	           "fill=\"none\" stroke=\"#000000\"/>\n",
	        pn->left, PLOT_TOP, pn->right - pn->left, PLOT_BOTTOM - PLOT_TOP);
	for (int i = 0; i < ns; i++)
		draw_series(f, pn, &s[i]);
	fputs("</g>\n", f);
}

static void draw_legend(FILE *f, const struct lab_series *s, int ns)
{
	for (int i = 0; i < ns; i++) {
		int x = 60 + LEGEND_COL_WIDTH * (i % LEGEND_COLS);
		int y = LEGEND_TOP + LEGEND_ROW * (i / LEGEND_COLS);
		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" ", x, y, x + 36, y);
		line_style(f, &s[i]);
		fprintf(f, "/>\n<text x=\"%d\" y=\"%d\">", x + 44, y + 4);
		xml_text(f, s[i].label);
		fputs("</text>\n", f);
	}
}

int lab_svg_write(const char *path, const char *title,
                  const struct lab_series *series, int nseries)
{
	if (!path || !title || !series || nseries < 1) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < nseries; i++)
		if (series[i].n < 1 || !series[i].sorted || !series[i].label) {
			errno = EINVAL;
			return -1;
		}
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	double lo, hi, max;
	time_range(series, nseries, &lo, &hi, &max);
	/* The linear axis ends at the first tick past the largest time. */
	double step = nice_step(max / 6, true);
	const struct panel panels[2] = {
		{90, 520, false, 0, step * ceil(max / step * (1 - 1e-9)), step,
		 "completion time since spawn (ms)"},
		{630, 1060, true, lo, hi, 0, "completion time since spawn (ms, log scale)"},
	};
	int rows = (nseries + LEGEND_COLS - 1) / LEGEND_COLS;
	int height = LEGEND_TOP + LEGEND_ROW * rows + 10;

	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n", f);
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
	           "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	           "font-family=\"sans-serif\" font-size=\"12\">\n",
	        WIDTH, height, WIDTH, height);
	fputs("<title>", f);
	xml_text(f, title);
	fputs("</title>\n", f);
	fputs("<style type=\"text/css\">\n"
	      ".grid { stroke: #e4e4e4; stroke-width: 1 }\n"
	      ".axis { stroke: #000000; stroke-width: 1 }\n"
	      "</style>\n", f);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
	        WIDTH, height);
	fprintf(f, "<text x=\"%d\" y=\"32\" text-anchor=\"middle\" font-size=\"15\">",
	        WIDTH / 2);
	xml_text(f, title);
	fputs("</text>\n", f);
	for (int i = 0; i < 2; i++)
		draw_panel(f, &panels[i], series, nseries);
	draw_legend(f, series, nseries);
	fputs("</svg>\n", f);

	int err = ferror(f) ? EIO : 0;
	if (fclose(f) != 0 && err == 0)
		err = errno;
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}
