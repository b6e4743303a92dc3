/*
 * tm: times as the API shows them (RFC 3339 in UTC) and as pages show
 * them before the browser's script puts them in the user's zone.
 */
#ifndef SB_TM_H
#define SB_TM_H

#include <time.h>

#define TM_RFC3339_LEN	21	/* "2026-11-29T10:00:00Z" + NUL */

void	 tm_rfc3339(time_t, char out[TM_RFC3339_LEN]);
/* "2026-11-29 10:00 UTC" */
void	 tm_human(time_t, char out[32]);
/* Parse "YYYY-MM-DDTHH:MM:SSZ" (seconds optional); -1 on anything else. */
time_t	 tm_parse_rfc3339(const char *);

/* An IANA zone name that exists on this system ("Europe/Istanbul"). */
int	 tm_zone_ok(const char *);
/*
 * Parse a form's "YYYY-MM-DDTHH:MM" as a wall-clock time in zone tz
 * (NULL: UTC); -1 when malformed or the zone is unknown.
 */
time_t	 tm_parse_local(const char *, const char *tz);

#endif
