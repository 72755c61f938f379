/*
 * ctl_calibrate_html.c: calibrate's report as one HTML page that needs
 * nothing else: inline SVG charts, inline CSS and a few lines of script
 * (the setting shown under "Suspensions"), no URL of any kind, so that
 * it can be mailed to a risk committee or opened from a share.
 *
 * Three parts: the sweep (checks denied and minutes suspended against
 * the setting, one line per value of the second sweep), each pair's rate
 * with the band edges and velocity range as the config is written, and
 * each product's suspensions as bars under a chosen setting.  Elements
 * carry classes and data- attributes a test counts (docs/OPERATIONS.md,
 * "How to read a calibration report").
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* The chart's frame, in SVG units. */
#define W      960
#define LEFT   70
#define RIGHT  20
#define TOP    20
#define BOTTOM 40

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c",
                                      "#9467bd", "#ff7f0e", "#8c564b",
                                      "#e377c2", "#17becf"};

bool
ctl_calib_epoch(const struct ctl_calib *cb)
{
	/* 2000-01-01 and 2100-01-01 UTC, in ms. */
	return cb->t0 >= 946684800000LL && cb->t1 < 4102444800000LL;
}

void
ctl_setting_label(const struct ctl_calib *cb, const struct ctl_setting *s,
                  char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
	if (s->config || cb->nsweeps == 0) {
		snprintf(buf, cap, "as configured");
		return;
	}
	for (size_t i = 0; i < cb->nsweeps && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s.%s=%s",
		                      i > 0 ? ", " : "", cb->sweep[i].rule,
		                      cb->sweep[i].key,
		                      cb->sweep[i].v[s->vi[i]]);
}

/* Text or an attribute's value, escaped. */
static void
esc(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			putc(*s, f);
		}
	}
}

/* A time on the charts' axes and in their titles: UTC for an epoch
 * tape ("13:27:45"), else the tape's t. */
static void
put_time(FILE *f, const struct ctl_calib *cb, fxb_time t, bool full)
{
	char buf[64];
	if (!ctl_calib_epoch(cb)) {
		fprintf(f, "t=%lld", (long long)t);
		return;
	}
	ctl_format_time(buf, sizeof(buf), t);
	if (full)
		fputs(buf, f);
	else
		fprintf(f, "%.5s", buf + 11);
}

/* x of time t on a chart whose plot runs from x0 to x1. */
static double
time_x(const struct ctl_calib *cb, fxb_time t, double x0, double x1)
{
	double span = (double)cb->t1 - (double)cb->t0;
	if (span <= 0)
		return x0;
	return x0 + ((double)t - (double)cb->t0) / span * (x1 - x0);
}

/* A scale for values from lo to hi: about four steps of 1, 2 or 5
 * times a power of ten, whole steps at both ends. */
static void
nice_scale(double lo, double hi, double *slo, double *shi, double *step)
{
	double range = hi - lo > 0 ? hi - lo : (hi != 0 ? hi * 0.01 : 1);
	double raw = range / 4, mag = 1;
	while (mag * 10 <= raw)
		mag *= 10;
	while (mag > raw)
		mag /= 10;
	*step = raw <= mag       ? mag
	        : raw <= 2 * mag ? 2 * mag
	        : raw <= 5 * mag ? 5 * mag
	                         : 10 * mag;
	*slo = (double)(long long)(lo / *step) * *step;
	if (*slo > lo)
		*slo -= *step;
	*shi = *slo;
	while (*shi < hi || *shi <= *slo)
		*shi += *step;
}

/* Horizontal grid lines and their labels, at the scale's steps. */
static void
value_axis(FILE *f, double lo, double hi, double step, double x0, double x1,
           double y0, double y1)
{
	int prec = 0;
	for (double st = step; st < 1 && prec < 9; st *= 10)
		prec++;
	for (double v = lo; v <= hi + step / 2; v += step) {
		double y = y1 - (y1 - y0) * (v - lo) / (hi - lo);
		fprintf(f,
		        "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" "
		        "x2=\"%.1f\" y2=\"%.1f\"/><text class=\"ylabel\" "
		        "x=\"%.1f\" y=\"%.1f\">%.*f</text>\n",
		        x0, y, x1, y, x0 - 6, y + 4, prec, v);
	}
}

/* The time axis under a plot: about eight ticks, whole hours when they
 * fit. */
static void
time_axis(FILE *f, const struct ctl_calib *cb, double x0, double x1, double y)
{
	fxb_time span = cb->t1 - cb->t0;
	fxb_time step = span / 8 > 0 ? span / 8 : 1;
	fxb_time first = cb->t0;
	if (ctl_calib_epoch(cb) && span >= 4 * 3600000LL) {
		step = ((span / 8) / 3600000LL + 1) * 3600000LL;
		first = (cb->t0 / 3600000LL + 1) * 3600000LL;
	}
	fprintf(f,
	        "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
	        "y2=\"%.1f\"/>\n",
	        x0, y, x1, y);
	for (fxb_time t = first; t <= cb->t1 && step > 0; t += step) {
		double x = time_x(cb, t, x0, x1);
		fprintf(f,
		        "<line class=\"tick\" x1=\"%.1f\" y1=\"%.1f\" "
		        "x2=\"%.1f\" y2=\"%.1f\"/><text class=\"tlabel\" "
		        "x=\"%.1f\" y=\"%.1f\">",
		        x, y, x, y + 4, x, y + 16);
		put_time(f, cb, t, false);
		fputs("</text>\n", f);
		if (t > FXB_TIME_MAX - step)
			break;
	}
	if (ctl_calib_epoch(cb))
		fprintf(f,
		        "<text class=\"tlabel\" x=\"%.1f\" y=\"%.1f\">UTC"
		        "</text>\n",
		        x1, y + 30);
}

/* ---- the sweep: customer impact against the setting ---- */

static int64_t
setting_minutes_ms(const struct ctl_calib *cb, const struct ctl_setting *s)
{
	int64_t sum = 0;
	for (size_t p = 0; p < cb->cfg->nproducts; p++)
		sum += s->held_ms[p];
	return sum;
}

/* One impact chart: `what` of each setting (checks denied, or minutes
 * suspended) against sweep 0's values, a line per value of sweep 1. */
static void
impact_chart(FILE *f, const struct ctl_calib *cb, const char *id,
             const char *title, const char *point_class, bool minutes)
{
	const double h = 300, x0 = LEFT, x1 = W - RIGHT - 160;
	const double y0 = TOP, y1 = h - BOTTOM;
	size_t n1 = cb->nsweeps > 0 ? cb->sweep[0].nv : 1;
	size_t n2 = cb->nsweeps > 1 ? cb->sweep[1].nv : 1;
	double vmin = 0, vmax = 0, lo, hi, step;

	for (size_t i = 0; i < cb->nset; i++) {
		const struct ctl_setting *s = &cb->set[i];
		double v = minutes
		               ? (double)setting_minutes_ms(cb, s) / 60000.0
		               : (double)s->deny;
		if (i == 0 || v < vmin)
			vmin = v;
		if (i == 0 || v > vmax)
			vmax = v;
	}
	/* The axis spans the values, not zero to the top: settings often
	 * differ by a few percent, which is what the chart is for. */
	nice_scale(vmin, vmax, &lo, &hi, &step);
	if (lo < 0)
		lo = 0;
	fprintf(f,
	        "<figure><figcaption>%s</figcaption>\n<svg id=\"%s\" "
	        "class=\"impact-chart\" viewBox=\"0 0 %d %.0f\" "
	        "width=\"%d\" height=\"%.0f\" role=\"img\">\n",
	        title, id, W, h, W, h);
	value_axis(f, lo, hi, step, x0, x1, y0, y1);
	fprintf(f,
	        "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
	        "y2=\"%.1f\"/>\n",
	        x0, y0, x0, y1);
	fprintf(f,
	        "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
	        "y2=\"%.1f\"/>\n",
	        x0, y1, x1, y1);
	/* x: sweep 0's values, evenly spaced in the order given (a value
	 * may be a duration or a word: the scale is the list's). */
	double dx = n1 > 1 ? (x1 - x0 - 60) / (double)(n1 - 1) : 0;
	for (size_t a = 0; a < n1; a++) {
		double x = n1 > 1 ? x0 + 30 + dx * (double)a : (x0 + x1) / 2;
		fprintf(f, "<text class=\"xlabel\" x=\"%.1f\" y=\"%.1f\">", x,
		        y1 + 18);
		esc(f, cb->nsweeps > 0 ? cb->sweep[0].v[a] : "as configured");
		fputs("</text>\n", f);
	}
	if (cb->nsweeps > 0) {
		fprintf(f, "<text class=\"xtitle\" x=\"%.1f\" y=\"%.1f\">",
		        (x0 + x1) / 2, h - 4);
		esc(f, cb->sweep[0].rule);
		fputc('.', f);
		esc(f, cb->sweep[0].key);
		fputs("</text>\n", f);
	}
	for (size_t b = 0; b < n2; b++) {
		const char *color = palette[b % 8];
		fprintf(f,
		        "<g class=\"impact-series\" data-series=\"%zu\">\n"
		        "<polyline class=\"impact-line\" stroke=\"%s\" "
		        "points=\"",
		        b, color);
		for (size_t a = 0; a < n1; a++) {
			const struct ctl_setting *s = &cb->set[a * n2 + b];
			double v =
			    minutes
			        ? (double)setting_minutes_ms(cb, s) / 60000.0
			        : (double)s->deny;
			double x =
			    n1 > 1 ? x0 + 30 + dx * (double)a : (x0 + x1) / 2;
			fprintf(f, "%s%.1f,%.1f", a > 0 ? " " : "", x,
			        y1 - (y1 - y0) * (v - lo) / (hi - lo));
		}
		fputs("\"/>\n", f);
		for (size_t a = 0; a < n1; a++) {
			size_t i = a * n2 + b;
			const struct ctl_setting *s = &cb->set[i];
			char label[1024];
			double v =
			    minutes
			        ? (double)setting_minutes_ms(cb, s) / 60000.0
			        : (double)s->deny;
			double x =
			    n1 > 1 ? x0 + 30 + dx * (double)a : (x0 + x1) / 2;
			ctl_setting_label(cb, s, label, sizeof(label));
			fprintf(f,
			        "<circle class=\"%s\" data-setting=\"%zu\" "
			        "data-value=\"%.*f\" cx=\"%.1f\" cy=\"%.1f\" "
			        "r=\"5\" fill=\"%s\"><title>#%zu ",
			        point_class, i + 1, minutes ? 2 : 0, v, x,
			        y1 - (y1 - y0) * (v - lo) / (hi - lo), color,
			        i + 1);
			esc(f, label);
			fprintf(f, ": %.*f %s</title></circle>\n",
			        minutes ? 2 : 0, v,
			        minutes ? "minutes suspended"
			                : "checks denied");
		}
		fputs("</g>\n", f);
		if (cb->nsweeps > 1) {
			double y = y0 + 16.0 * (double)b;
			fprintf(f,
			        "<line class=\"legend-line\" stroke=\"%s\" "
			        "x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			        "y2=\"%.1f\"/><text class=\"legend\" "
			        "x=\"%.1f\" y=\"%.1f\">",
			        color, x1 + 20, y, x1 + 40, y, x1 + 46, y + 4);
			esc(f, cb->sweep[1].key);
			fputs(" = ", f);
			esc(f, cb->sweep[1].v[b]);
			fputs("</text>\n", f);
		}
	}
	fputs("</svg></figure>\n", f);
}

/* ---- the rates and their limits ---- */

/* One polyline of a level through the columns that have it (a gap
 * where none is in force): field off within struct ctl_level_col. */
static void
level_path(FILE *f, const struct ctl_level_col *col, unsigned has, size_t off,
           const char *cls, double lo, double hi, double x0, double x1,
           double y0, double y1)
{
	bool pen = false;
	fprintf(f, "<path class=\"%s\" d=\"", cls);
	for (size_t c = 0; c < CTL_LEVEL_COLS; c++) {
		if (!(col[c].has & has)) {
			pen = false;
			continue;
		}
		int64_t v;
		memcpy(&v, (const char *)&col[c] + off, sizeof(v));
		double x = x0 + (x1 - x0) * ((double)c + 0.5) / CTL_LEVEL_COLS;
		double y = y1 - (y1 - y0) * ((double)v / 1e9 - lo) / (hi - lo);
		fprintf(f, "%c%.1f,%.1f ", pen ? 'L' : 'M', x, y);
		pen = true;
	}
	fputs("\"/>\n", f);
}

/* Pair pi's rate (each column's lowest to highest) with its band edges
 * and velocity range, as ticks met them under the config as written. */
static void
rate_chart(FILE *f, const struct ctl_calib *cb, size_t pi)
{
	const struct ctl_level_col *col = cb->levels[pi];
	const double h = 260, x0 = LEFT, x1 = W - RIGHT;
	const double y0 = TOP, y1 = h - BOTTOM;
	double lo = 0, hi = 0;
	bool any = false;

	for (size_t c = 0; c < CTL_LEVEL_COLS; c++) {
		const struct ctl_level_col *k = &col[c];
		int64_t v[6] = {k->rmin, k->rmax, k->blo,
		                k->bhi,  k->vlo,  k->vhi};
		unsigned need[6] = {CTL_HAS_RATE, CTL_HAS_RATE, CTL_HAS_BAND,
		                    CTL_HAS_BAND, CTL_HAS_VEL,  CTL_HAS_VEL};
		for (size_t j = 0; j < 6; j++) {
			if (!(k->has & need[j]))
				continue;
			double d = (double)v[j] / 1e9;
			if (!any || d < lo)
				lo = d;
			if (!any || d > hi)
				hi = d;
			any = true;
		}
	}
	fputs("<figure><figcaption>", f);
	esc(f, cb->cfg->pairs[pi].name);
	fputs("</figcaption>\n", f);
	fprintf(f,
	        "<svg class=\"rate-chart\" data-pair=\"%s\" viewBox=\"0 0 "
	        "%d %.0f\" width=\"%d\" height=\"%.0f\" role=\"img\">\n",
	        cb->cfg->pairs[pi].name, W, h, W, h);
	if (!any) {
		fprintf(f,
		        "<text class=\"empty\" x=\"%.1f\" y=\"%.1f\">no tick "
		        "on the tape</text></svg></figure>\n",
		        (x0 + x1) / 2, (y0 + y1) / 2);
		return;
	}
	double step;
	nice_scale(lo, hi, &lo, &hi, &step);
	value_axis(f, lo, hi, step, x0, x1, y0, y1);
	time_axis(f, cb, x0, x1, y1);
	level_path(f, col, CTL_HAS_BAND, offsetof(struct ctl_level_col, bhi),
	           "band-edge band-upper", lo, hi, x0, x1, y0, y1);
	level_path(f, col, CTL_HAS_BAND, offsetof(struct ctl_level_col, blo),
	           "band-edge band-lower", lo, hi, x0, x1, y0, y1);
	level_path(f, col, CTL_HAS_VEL, offsetof(struct ctl_level_col, vhi),
	           "vel-limit vel-upper", lo, hi, x0, x1, y0, y1);
	level_path(f, col, CTL_HAS_VEL, offsetof(struct ctl_level_col, vlo),
	           "vel-limit vel-lower", lo, hi, x0, x1, y0, y1);
	/* The rate: down and up through each column's range. */
	bool pen = false;
	fputs("<path class=\"rate-path\" d=\"", f);
	for (size_t c = 0; c < CTL_LEVEL_COLS; c++) {
		if (!(col[c].has & CTL_HAS_RATE)) {
			pen = false;
			continue;
		}
		double x = x0 + (x1 - x0) * ((double)c + 0.5) / CTL_LEVEL_COLS;
		double ya = y1 - (y1 - y0) * ((double)col[c].rmin / 1e9 - lo) /
		                     (hi - lo);
		double yb = y1 - (y1 - y0) * ((double)col[c].rmax / 1e9 - lo) /
		                     (hi - lo);
		fprintf(f, "%c%.1f,%.1f L%.1f,%.1f ", pen ? 'L' : 'M', x, ya,
		        x, yb);
		pen = true;
	}
	fputs("\"/>\n</svg></figure>\n", f);
}

/* ---- suspensions by product ---- */

/* A span's colour class: what kind of suspension held the product. */
static const char *
span_class(const struct ctl_calib *cb, const struct ctl_span *sp)
{
	if (sp->reason == BREAKER_REASON_FORCED || sp->rule < 0)
		return "forced";
	if (sp->reason == BREAKER_REASON_AWAITING_REFERENCE)
		return "awaiting";
	switch (cb->cfg->rules[sp->rule].kind) {
	case BREAKER_BAND:
	case BREAKER_VELOCITY:
	case BREAKER_DEVIATION:
		return "market";
	case BREAKER_VOLUME:
	case BREAKER_THROTTLE:
		return "demand";
	default:
		return "feed";
	}
}

static void
susp_chart(FILE *f, const struct ctl_calib *cb, const struct ctl_setting *s,
           const char *key, bool shown)
{
	const double row = 26, x0 = 230, x1 = W - 80, y0 = TOP;
	size_t np = cb->cfg->nproducts;
	double h = y0 + row * (double)np + BOTTOM;
	char label[1024];

	ctl_setting_label(cb, s, label, sizeof(label));
	fprintf(f,
	        "<svg class=\"susp-chart\" data-setting=\"%s\" "
	        "viewBox=\"0 0 %d %.0f\" width=\"%d\" height=\"%.0f\" "
	        "role=\"img\"%s><title>",
	        key, W, h, W, h, shown ? "" : " style=\"display:none\"");
	esc(f, label);
	fputs("</title>\n", f);
	for (size_t p = 0; p < np; p++) {
		double y = y0 + row * (double)p;
		fprintf(
		    f,
		    "<rect class=\"lane\" x=\"%.1f\" y=\"%.1f\" "
		    "width=\"%.1f\" height=\"%.1f\"/><text class=\"plabel\" "
		    "x=\"%.1f\" y=\"%.1f\">",
		    x0, y + 3, x1 - x0, row - 6, x0 - 8, y + row / 2 + 4);
		esc(f, cb->cfg->products[p].id);
		fprintf(f,
		        "</text><text class=\"pminutes\" x=\"%.1f\" "
		        "y=\"%.1f\">%.2f min</text>\n",
		        (double)W - 4, y + row / 2 + 4,
		        (double)s->held_ms[p] / 60000.0);
	}
	for (size_t i = 0; i < s->nspan; i++) {
		const struct ctl_span *sp = &s->span[i];
		double y = y0 + row * (double)sp->product;
		double xa = time_x(cb, sp->from, x0, x1);
		double xb = time_x(cb, sp->to, x0, x1);
		const char *rule =
		    sp->rule >= 0 ? cb->cfg->rules[sp->rule].id : "operator";
		fprintf(f,
		        "<rect class=\"susp-bar %s\" data-product=\"%zu\" "
		        "data-rule=\"",
		        span_class(cb, sp), (size_t)sp->product);
		esc(f, rule);
		fprintf(f,
		        "\" data-from=\"%lld\" data-to=\"%lld\" x=\"%.1f\" "
		        "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>",
		        (long long)sp->from, (long long)sp->to, xa, y + 5,
		        xb - xa > 1 ? xb - xa : 1, row - 10);
		esc(f, cb->cfg->products[sp->product].id);
		fputs(": ", f);
		esc(f, rule);
		fprintf(f, " (%s), ", breaker_reason_name(sp->reason));
		put_time(f, cb, sp->from, true);
		fputs(" to ", f);
		put_time(f, cb, sp->to, true);
		fprintf(f, ", %.2f min</title></rect>\n",
		        (double)(sp->to - sp->from) / 60000.0);
	}
	time_axis(f, cb, x0, x1, y0 + row * (double)np);
	fputs("</svg>\n", f);
}

/* ---- the page ---- */

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;"
    "max-width:1000px}\n"
    "h1{font-size:20px}h2{font-size:17px;margin-top:28px}\n"
    "code{font-size:13px}figure{margin:12px 0}figcaption{font-weight:600}"
    "\n"
    "table{border-collapse:collapse;font-size:13px}"
    "td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right}"
    "\n"
    "td.l,th.l{text-align:left}td{white-space:nowrap}"
    "tr.result-row{cursor:pointer}tr.selected{background:#fff3cd}\n"
    "svg text{font:11px system-ui,sans-serif;fill:#333}\n"
    ".axis{stroke:#555}.tick{stroke:#555}.grid{stroke:#eee}\n"
    ".ylabel{text-anchor:end}.tlabel,.xlabel,.xtitle{text-anchor:middle}"
    "\n"
    ".plabel{text-anchor:end}.pminutes{text-anchor:end;fill:#666}\n"
    ".impact-line{fill:none;stroke-width:2}.impact-point,.minutes-point"
    "{cursor:pointer;stroke:#fff}\n"
    ".legend-line{stroke-width:2}\n"
    ".rate-path{fill:none;stroke:#1f3a93;stroke-width:1.2}\n"
    ".band-edge{fill:none;stroke:#d62728;stroke-width:1.2}\n"
    ".vel-limit{fill:none;stroke:#ff7f0e;stroke-width:1;"
    "stroke-dasharray:4 3}\n"
    ".lane{fill:#f6f6f6}.susp-bar.market{fill:#ff7f0e}"
    ".susp-bar.demand{fill:#9467bd}\n"
    ".susp-bar.feed{fill:#7f7f7f}.susp-bar.forced{fill:#d62728}"
    ".susp-bar.awaiting{fill:#ffbb78}\n"
    ".key span{display:inline-block;width:12px;height:12px;"
    "margin:0 4px 0 12px;vertical-align:middle}\n";

/* Shows the setting chosen (the select, a point of the sweep or a row of
 * the table); the others' bars hide. */
static const char script[] =
    "(function(){\n"
    "var sel=document.getElementById('setting-select');\n"
    "function show(k){sel.value=k;\n"
    " document.querySelectorAll('svg.susp-chart').forEach(function(s){\n"
    "  s.style.display=s.dataset.setting===k?'':'none';});\n"
    " document.querySelectorAll('tr.result-row').forEach(function(r){\n"
    "  r.classList.toggle('selected',r.dataset.setting===k);});}\n"
    "sel.addEventListener('change',function(){show(sel.value);});\n"
    "document.querySelectorAll('.impact-point,.minutes-point,"
    "tr.result-row').forEach(function(e){\n"
    " e.addEventListener('click',function(){show(e.dataset.setting);\n"
    "  document.getElementById('suspensions').scrollIntoView();});});\n"
    "show(sel.value);\n"
    "})();\n";

static void
result_row(FILE *f, const struct ctl_calib *cb, const struct ctl_setting *s,
           const char *key)
{
	char buf[64];
	fprintf(f, "<tr class=\"result-row\" data-setting=\"%s\"><td>%s</td>",
	        key, key);
	for (size_t i = 0; i < cb->nsweeps; i++) {
		fputs("<td class=\"l\">", f);
		esc(f, s->config ? "" : cb->sweep[i].v[s->vi[i]]);
		fputs("</td>", f);
	}
	fprintf(f, "<td>%lld</td><td class=\"l\">", (long long)s->trips);
	if (s->first_trip != FXB_NEVER)
		put_time(f, cb, s->first_trip, true);
	else
		fputs("-", f);
	fprintf(f, "</td><td>%lld</td><td>%lld</td><td>%lld</td>",
	        (long long)s->deny, (long long)s->allow,
	        (long long)s->throttle);
	snprintf(buf, sizeof(buf), "%.2f",
	         (double)setting_minutes_ms(cb, s) / 60000.0);
	fprintf(f, "<td>%s</td></tr>\n", buf);
}

bool
ctl_calibrate_html(const struct ctl_calib *cb, FILE *f)
{
	char label[1024];

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
	      "charset=\"utf-8\">\n<title>fxbreaker calibration: ",
	      f);
	esc(f, cb->tape_path);
	fprintf(f, "</title>\n<style>\n%s</style></head>\n<body>\n", style);
	fputs("<h1>Calibration of <code>", f);
	esc(f, cb->tape_path);
	fputs("</code></h1>\n<p class=\"meta\">Config <code>", f);
	esc(f, cb->config_path);
	fprintf(f, "</code>; %zu records from ", cb->tape->n);
	put_time(f, cb, cb->t0, true);
	fputs(" to ", f);
	put_time(f, cb, cb->t1, true);
	fprintf(f, " (%.1f minutes); %zu setting%s",
	        (double)(cb->t1 - cb->t0) / 60000.0, cb->nset,
	        cb->nset == 1 ? "" : "s");
	for (size_t i = 0; i < cb->nsweeps; i++) {
		fputs(i == 0 ? ": <code>" : " &times; <code>", f);
		esc(f, cb->sweep[i].rule);
		fputc('.', f);
		esc(f, cb->sweep[i].key);
		fprintf(f, "</code> (%zu values)", cb->sweep[i].nv);
	}
	fputs(".</p>\n", f);

	fputs("<section id=\"impact\"><h2>Customer impact by "
	      "setting</h2>\n<p>Each point is one setting (click it to see "
	      "its suspensions below).",
	      f);
	if (cb->nsweeps > 1) {
		fputs(" One line per value of <code>", f);
		esc(f, cb->sweep[1].rule);
		fputc('.', f);
		esc(f, cb->sweep[1].key);
		fputs("</code>.", f);
	}
	fputs("</p>\n", f);
	impact_chart(f, cb, "impact-denied", "Checks denied (every reason)",
	             "impact-point", false);
	impact_chart(f, cb, "impact-minutes",
	             "Minutes suspended (all products added up)",
	             "minutes-point", true);
	fputs("</section>\n", f);

	fputs("<section id=\"results\"><h2>Settings</h2>\n<table "
	      "id=\"results-table\"><tr><th>#</th>",
	      f);
	for (size_t i = 0; i < cb->nsweeps; i++) {
		fputs("<th class=\"l\">", f);
		esc(f, cb->sweep[i].rule);
		fputc('.', f);
		esc(f, cb->sweep[i].key);
		fputs("</th>", f);
	}
	fputs("<th>trips</th><th class=\"l\">first trip</th><th>denied</th>"
	      "<th>allowed</th><th>throttled</th><th>minutes "
	      "suspended</th></tr>\n",
	      f);
	for (size_t i = 0; i < cb->nset; i++) {
		char key[24];
		snprintf(key, sizeof(key), "%zu", i + 1);
		result_row(f, cb, &cb->set[i], key);
	}
	result_row(f, cb, &cb->base, "config");
	fputs("</table>\n<p>Row <code>config</code> is the config as "
	      "written.</p></section>\n",
	      f);

	fputs("<section id=\"rates\"><h2>Rates and limits, as "
	      "configured</h2>\n<p>Each pair's rate (the lowest and highest "
	      "of each column), the band edges "
	      "(<span style=\"color:#d62728\">red</span>) and the velocity "
	      "range (<span style=\"color:#ff7f0e\">orange, dashed</span>) "
	      "in force as each tick arrived, under the config as "
	      "written.</p>\n",
	      f);
	for (size_t p = 0; p < cb->cfg->npairs; p++)
		rate_chart(f, cb, p);
	fputs("</section>\n", f);

	fputs("<section id=\"suspensions\"><h2>Suspensions by "
	      "product</h2>\n<p><label>Setting <select "
	      "id=\"setting-select\">\n<option value=\"config\" "
	      "selected>as configured</option>\n",
	      f);
	for (size_t i = 0; i < cb->nset; i++) {
		ctl_setting_label(cb, &cb->set[i], label, sizeof(label));
		fprintf(f, "<option value=\"%zu\">#%zu ", i + 1, i + 1);
		esc(f, label);
		fputs("</option>\n", f);
	}
	fputs("</select></label></p>\n<p class=\"key\">"
	      "<span style=\"background:#ff7f0e\"></span>market (band, "
	      "velocity, "
	      "deviation)<span style=\"background:#ffbb78\"></span>band "
	      "awaiting its reference<span "
	      "style=\"background:#9467bd\"></span>demand (volume)<span "
	      "style=\"background:#7f7f7f\"></span>feed (stale, spread)"
	      "<span style=\"background:#d62728\"></span>operator</p>\n",
	      f);
	susp_chart(f, cb, &cb->base, "config", true);
	for (size_t i = 0; i < cb->nset; i++) {
		char key[24];
		snprintf(key, sizeof(key), "%zu", i + 1);
		susp_chart(f, cb, &cb->set[i], key, false);
	}
	fprintf(f, "</section>\n<script>\n%s</script>\n</body></html>\n",
	        script);
	return !ferror(f);
}
