/*
 * metrics_render.c — the Prometheus text exposition format 0.0.4 of the
 * summed counters.  Pure: counts in, text out.
 *
 * Format rules kept here: one "# HELP" and "# TYPE" line before a
 * metric's samples; histogram buckets cumulative, le="+Inf" equal to
 * _count; label values escaped (\\, \", \n); durations printed as exact
 * decimals of their nanosecond sums.
 */
#include <inttypes.h>

#include "metrics.h"

static const char *const op_name[METRICS_NOPS] = {
	"issue", "download", "health", "metrics", "other",
};

static void
family(struct buf *out, const char *name, const char *type,
    const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* A label value, escaped as the text format requires. */
static void
label_value(struct buf *out, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			buf_puts(out, "\\\\");
		else if (*v == '"')
			buf_puts(out, "\\\"");
		else if (*v == '\n')
			buf_puts(out, "\\n");
		else
			buf_putc(out, *v);
	}
}

static void
seconds(struct buf *out, uint64_t ns)
{
	buf_printf(out, "%" PRIu64 ".%09" PRIu64, ns / 1000000000u,
	    ns % 1000000000u);
}

static void
histogram(struct buf *out, const struct metrics_counts *c, int op)
{
	uint64_t cum = 0;
	int b;

	for (b = 0; b < METRICS_NBUCKETS; b++) {
		cum += c->bucket[op][b];
		buf_printf(out, "mediagate_request_duration_seconds_bucket"
		    "{operation=\"%s\",le=\"%s\"} %" PRIu64 "\n", op_name[op],
		    metrics_bucket_text[b], cum);
	}
	cum += c->bucket[op][METRICS_NBUCKETS];
	buf_printf(out, "mediagate_request_duration_seconds_bucket"
	    "{operation=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", op_name[op], cum);
	buf_printf(out, "mediagate_request_duration_seconds_sum"
	    "{operation=\"%s\"} ", op_name[op]);
	seconds(out, c->duration_ns[op]);
	buf_printf(out, "\nmediagate_request_duration_seconds_count"
	    "{operation=\"%s\"} %" PRIu64 "\n", op_name[op], cum);
}

/* The two samples of a counter with a result label: first, then second. */
static void
results(struct buf *out, const char *name, const char *first,
    const char *second, const uint64_t v[2])
{
	buf_printf(out, "%s{result=\"%s\"} %" PRIu64 "\n", name, first, v[0]);
	buf_printf(out, "%s{result=\"%s\"} %" PRIu64 "\n", name, second,
	    v[1]);
}

void
metrics_render(const struct metrics_counts *c, unsigned responders,
    const char *version, struct buf *out)
{
	int op, s;

	family(out, "mediagate_requests_total", "counter",
	    "Requests answered, by operation and HTTP status.");
	for (op = 0; op < METRICS_NOPS; op++)
		for (s = 0; s < METRICS_NSTATUS; s++) {
			if (c->requests[op][s] == 0)
				continue;
			if (metrics_status_code[s] != 0)
				buf_printf(out, "mediagate_requests_total"
				    "{operation=\"%s\",status=\"%d\"} %"
				    PRIu64 "\n", op_name[op],
				    metrics_status_code[s], c->requests[op][s]);
			else
				buf_printf(out, "mediagate_requests_total"
				    "{operation=\"%s\",status=\"other\"} %"
				    PRIu64 "\n", op_name[op],
				    c->requests[op][s]);
		}

	family(out, "mediagate_request_duration_seconds", "histogram",
	    "Time from accepting a request to finishing its answer.");
	for (op = 0; op < METRICS_NTIMED; op++)
		histogram(out, c, op);

	family(out, "mediagate_db_connects_total", "counter",
	    "Database connection attempts, by result.");
	results(out, "mediagate_db_connects_total", "ok", "failed",
	    c->db_connects);

	family(out, "mediagate_key_reloads_total", "counter",
	    "Key file reloads: taken (ok) or refused (failed).");
	results(out, "mediagate_key_reloads_total", "ok", "failed",
	    c->key_reloads);

	family(out, "mediagate_signature_cache_lookups_total", "counter",
	    "RS/ES bearers looked up among the signatures already verified: "
	    "found (hit) or verified now (miss).");
	results(out, "mediagate_signature_cache_lookups_total", "hit", "miss",
	    c->sig_cache);

	family(out, "mediagate_responders", "gauge",
	    "Responder processes attached to the counter file now.");
	buf_printf(out, "mediagate_responders %u\n", responders);

	family(out, "mediagate_build_info", "gauge",
	    "Always 1; the version label names the build.");
	buf_puts(out, "mediagate_build_info{version=\"");
	label_value(out, version);
	buf_puts(out, "\"} 1\n");
}
