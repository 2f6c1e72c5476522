/*
 * config_ops.c — MEDIAGATE_METRICS_FILE, MEDIAGATE_METRICS_ALLOW and
 * MEDIAGATE_AUDIT_LOG (contract §1, §7).
 *
 * Both paths must be absolute: spawn-fcgi, mod_fcgid and systemd each
 * start the responders in another working directory, and the responders
 * of one host must agree on the counter file.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"

static int
absolute_path(config_getenv_fn get, const char *name, char **out, char *err,
    size_t errsz)
{
	const char *v = get(name);

	*out = NULL;
	if (v == NULL || *v == '\0')
		return 0;
	if (v[0] != '/' || strlen(v) > 4000) {
		snprintf(err, errsz, "%s: '%.200s' is not an absolute path",
		    name, v);
		return -1;
	}
	*out = xstrdup(v);
	return 0;
}

int
config_parse_ops(struct config *cfg, config_getenv_fn get, char *err,
    size_t errsz)
{
	const char *v;

	if (absolute_path(get, "MEDIAGATE_METRICS_FILE", &cfg->metrics_file,
	    err, errsz) != 0 ||
	    absolute_path(get, "MEDIAGATE_AUDIT_LOG", &cfg->audit_log, err,
	    errsz) != 0)
		return -1;
	v = get("MEDIAGATE_METRICS_ALLOW");
	return metrics_allow_parse(v != NULL && *v != '\0' ? v :
	    METRICS_ALLOW_DEFAULT, &cfg->metrics_allow, err, errsz);
}
