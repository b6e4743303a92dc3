#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "tm.h"

void
tm_rfc3339(time_t t, char out[TM_RFC3339_LEN])
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, TM_RFC3339_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, TM_RFC3339_LEN, "1970-01-01T00:00:00Z");
}

void
tm_human(time_t t, char out[32])
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(out, 32, "?");
}

time_t
tm_parse_rfc3339(const char *s)
{
	struct tm	 tm;
	const char	*end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M", &tm)) == NULL)
		return -1;
	if (*end == ':' && (end = strptime(end, ":%S", &tm)) == NULL)
		return -1;
	if (strcmp(end, "Z") != 0 || tm.tm_year < 70)
		return -1;
	return timegm(&tm);
}

int
tm_zone_ok(const char *tz)
{
	char	 path[128];
	size_t	 n = strlen(tz);

	if (n == 0 || n > 64 || tz[0] == '/' || strstr(tz, "..") ||
	    tz[strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_+-/")] != '\0')
		return 0;
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
	return access(path, R_OK) == 0;
}

time_t
tm_parse_local(const char *s, const char *tz)
{
	struct tm	 tm;
	const char	*end;
	char		*old = NULL;
	time_t		 t;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M", &tm)) == NULL ||
	    (*end == ':' && (end = strptime(end, ":%S", &tm)) == NULL) ||
	    *end != '\0' || tm.tm_year < 70)
		return -1;
	if (tz == NULL || strcmp(tz, "UTC") == 0)
		return timegm(&tm);
	if (!tm_zone_ok(tz))
		return -1;
	/* mktime reads the zone from TZ; put the process's back after. */
	if (getenv("TZ") != NULL && (old = strdup(getenv("TZ"))) == NULL)
		return -1;
	setenv("TZ", tz, 1);
	tzset();
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (old != NULL) {
		setenv("TZ", old, 1);
		free(old);
	} else
		unsetenv("TZ");
	tzset();
	return t;
}
