#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"

static const char *
env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

static char *
join(const char *a, const char *b)
{
	size_t	 n = strlen(a) + strlen(b) + 1;
	char	*p = malloc(n);

	if (p)
		snprintf(p, n, "%s%s", a, b);
	return p;
}

int
cfg_load(struct cfg *c, char *err, size_t errlen)
{
	const char	*u, *host, *slash;
	size_t		 n;
	char		*base;

	memset(c, 0, sizeof(*c));
	u = env_or("BASE_URL", "http://127.0.0.1:8080");
	if (strncmp(u, "https://", 8) == 0) {
		c->https = 1;
		host = u + 8;
	} else if (strncmp(u, "http://", 7) == 0)
		host = u + 7;
	else {
		snprintf(err, errlen, "BASE_URL must start with http:// or https://");
		return -1;
	}
	if (*host == '\0' || *host == '/' || strpbrk(u, " \t\r\n?#\"'<>\\")) {
		snprintf(err, errlen, "BASE_URL is not a plain URL");
		return -1;
	}
	/* The trailing slash is dropped so that paths join cleanly. */
	n = strlen(u);
	while (n > 0 && u[n - 1] == '/')
		n--;
	if ((base = strndup(u, n)) == NULL)
		goto oom;
	slash = strchr(host, '/');
	c->base_url = base;
	c->origin = slash ? strndup(u, (size_t)(slash - u)) : strdup(base);
	c->base_path = strdup(slash ? base + (slash - u) : "");
	c->callback_url = join(base, CALLBACK_PATH);
	c->data_dir = env_or("SOSYABOT_DATA_DIR", "var");
	c->key_file = getenv("SOSYABOT_KEY_FILE") && *getenv("SOSYABOT_KEY_FILE") ?
	    strdup(getenv("SOSYABOT_KEY_FILE")) : join(c->data_dir, "/master.key");
	c->x_api = env_or("X_API_BASE_URL", "https://api.x.com");
	c->x_authorize = env_or("X_AUTHORIZE_URL", "https://x.com/i/oauth2/authorize");
	c->x_web = env_or("X_WEB_BASE_URL", "https://x.com");
	c->ca_bundle = env_or("SOSYABOT_CA_BUNDLE", NULL);
	c->env_client_id = env_or("TWITTER_CLIENT_ID", NULL);
	c->env_client_secret = env_or("TWITTER_CLIENT_SECRET", NULL);
	if (!c->origin || !c->base_path || !c->callback_url || !c->key_file)
		goto oom;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	cfg_free(c);
	return -1;
}

void
cfg_free(struct cfg *c)
{
	free((char *)c->base_url);
	free(c->origin);
	free(c->base_path);
	free(c->callback_url);
	free(c->key_file);
	memset(c, 0, sizeof(*c));
}
