/*
 * lab_svg.c - the lab's CDF plot as SVG 1.1 (see lab_svg.h).
 *
 * The picture: a title on top, the plot area on the left, the legend on
 * the right. Everything is drawn in the file's own user units (1 unit =
 * 1 px at the default size); text is escaped for XML, and the document
 * declares its encoding and the SVG namespace, so that it stands alone:
 * a browser, an XML parser or an SVG editor reads it as it is.
 *
 * The x axis spans [lo, hi] ms on a log scale, lo the largest 1-2-5 step
 * not above the smallest time of any series and hi the smallest one not
 * below the largest. A series' polyline skips points that land within a
 * quarter unit of the previous one drawn (1,000 points per series need
 * not reach the file), but always keeps its first and last point.
 */
#include "lab_svg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>

enum {
	WIDTH = 940,
	HEIGHT = 580,
	PLOT_LEFT = 80,
	PLOT_TOP = 60,
	PLOT_RIGHT = 660,
	PLOT_BOTTOM = 500,
	LEGEND_LEFT = 690,
};

static const char *const palette[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
	"#ff7f0e", "#8c564b", "#e377c2", "#17becf",
};
static const char *const dashes[] = {"none", "9 4", "2 3", "12 3 3 3"};

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

struct axis {
	double lo_log, hi_log; /* log10 of the x range, ms */
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

/* nice_step returns the 1-2-5 step next to v: the largest not above it
 * (up) or the smallest not below it. */
static double nice_step(double v, bool up)
{
	static const double mant[] = {1, 2, 5, 10};
	double e = floor(log10(v));
	double base = pow(10, e);
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

static struct axis x_axis(const struct lab_series *s, int ns)
{
	double lo = INFINITY, hi = 0;
	for (int i = 0; i < ns; i++) {
		double a = (double)s[i].sorted[0] / 1e6;
		double b = (double)s[i].sorted[s[i].n - 1] / 1e6;
		lo = a < lo ? a : lo;
		hi = b > hi ? b : hi;
	}
	if (lo < 1e-3) /* 1 µs: a time this short is no finish at all */
		lo = 1e-3;
	if (hi < lo)
		hi = lo;
	lo = nice_step(lo, false);
	hi = nice_step(hi, true);
	if (hi <= lo)
		hi = nice_step(lo * 1.5, true);
	return (struct axis){log10(lo), log10(hi)};
}

static double x_of(const struct axis *ax, double ms)
{
	double l = ms > 0 ? log10(ms) : ax->lo_log;
	if (l < ax->lo_log)
		l = ax->lo_log;
	return PLOT_LEFT + (l - ax->lo_log) / (ax->hi_log - ax->lo_log) *
	                   (PLOT_RIGHT - PLOT_LEFT);
}

static double y_of(double frac)
{
	return PLOT_BOTTOM - frac * (PLOT_BOTTOM - PLOT_TOP);
}

static void draw_x_ticks(FILE *f, const struct axis *ax)
{
	static const int mant[] = {1, 2, 5};
	double decades = ax->hi_log - ax->lo_log;
	for (int e = (int)floor(ax->lo_log); e <= (int)ceil(ax->hi_log); e++) {
		for (int i = 0; i < 3; i++) {
			double v = mant[i] * pow(10, e);
			double l = log10(v);
			if (l < ax->lo_log - 1e-9 || l > ax->hi_log + 1e-9)
				continue;
			double x = x_of(ax, v);
			fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n",
			        x, PLOT_TOP, x, PLOT_BOTTOM);
			fprintf(f, "<line class=\"axis\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n",
			        x, PLOT_BOTTOM, x, PLOT_BOTTOM + 5);
			/* Over many decades only 1 and 5 are labelled: the
			 * labels would collide. */
			if (decades > 3 && mant[i] == 2)
				continue;
			fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n",
			        x, PLOT_BOTTOM + 19, v);
		}
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
	           "completion time since spawn (ms, log scale)</text>\n",
	        (PLOT_LEFT + PLOT_RIGHT) / 2, PLOT_BOTTOM + 42);
}

static void draw_y_ticks(FILE *f)
{
	for (int k = 0; k <= 10; k++) {
		double y = y_of(k / 10.0);
		fprintf(f, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n",
		        PLOT_LEFT, y, PLOT_RIGHT, y);
		fprintf(f, "<line class=\"axis\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n",
		        PLOT_LEFT - 5, y, PLOT_LEFT, y);
		if (k % 2 == 0)
			fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n",
			        PLOT_LEFT - 9, y + 4, k / 10.0);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
	           "transform=\"rotate(-90 %d %d)\">fraction of goroutines completed</text>\n",
	        22, (PLOT_TOP + PLOT_BOTTOM) / 2, 22, (PLOT_TOP + PLOT_BOTTOM) / 2);
}

static void line_style(FILE *f, const struct lab_series *s)
{
	fprintf(f, "fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" stroke-dasharray=\"%s\"",
	        palette[(unsigned)s->color % NELEM(palette)], s->wide ? "4.5" : "1.6",
	        dashes[(unsigned)s->dash % NELEM(dashes)]);
}

static void draw_series(FILE *f, const struct axis *ax, const struct lab_series *s)
{
	fputs("<polyline class=\"cdf\" ", f);
	line_style(f, s);
	fputs(" points=\"", f);
	double lx = x_of(ax, (double)s->sorted[0] / 1e6), ly = y_of(0);
	fprintf(f, "%.2f,%.2f", lx, ly);
	for (long i = 0; i < s->n; i++) {
		double x = x_of(ax, (double)s->sorted[i] / 1e6);
		double y = y_of((double)(i + 1) / (double)s->n);
		if (i != s->n - 1 && fabs(x - lx) < 0.25 && fabs(y - ly) < 0.25)
			continue;
		fprintf(f, " %.2f,%.2f", x, y);
		lx = x;
		ly = y;
	}
	fputs("\"><title>", f);
	xml_text(f, s->label);
	fputs("</title></polyline>\n", f);
}

static void draw_legend(FILE *f, const struct lab_series *s, int ns)
{
	for (int i = 0; i < ns; i++) {
		int y = PLOT_TOP + 10 + 22 * i;
		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" ",
		        LEGEND_LEFT, y, LEGEND_LEFT + 36, y);
		line_style(f, &s[i]);
		fprintf(f, "/>\n<text x=\"%d\" y=\"%d\">", LEGEND_LEFT + 44, y + 4);
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
	struct axis ax = x_axis(series, nseries);

	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n", f);
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
	           "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	           "font-family=\"sans-serif\" font-size=\"12\">\n",
	        WIDTH, HEIGHT, WIDTH, HEIGHT);
	fputs("<title>", f);
	xml_text(f, title);
	fputs("</title>\n", f);
	fputs("<style type=\"text/css\">\n"
	      ".grid { stroke: #e4e4e4; stroke-width: 1 }\n"
	      ".axis { stroke: #000000; stroke-width: 1 }\n"
	      "</style>\n", f);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
	        WIDTH, HEIGHT);
	fprintf(f, "<text x=\"%d\" y=\"30\" text-anchor=\"middle\" font-size=\"15\">",
	        WIDTH / 2);
	xml_text(f, title);
	fputs("</text>\n", f);

	draw_x_ticks(f, &ax);
	draw_y_ticks(f);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
	           "fill=\"none\" stroke=\"#000000\"/>\n",
	        PLOT_LEFT, PLOT_TOP, PLOT_RIGHT - PLOT_LEFT, PLOT_BOTTOM - PLOT_TOP);
	for (int i = 0; i < nseries; i++)
		draw_series(f, &ax, &series[i]);
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
