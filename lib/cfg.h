/*
 * cfg: the process configuration, read once from the environment.
 * See doc/env.md for every variable.  Pointers into the environment are
 * borrowed; the rest is owned by the struct and freed by cfg_free().
 */
#ifndef SB_CFG_H
#define SB_CFG_H

struct cfg {
	const char	*base_url;	/* BASE_URL, no trailing slash */
	char		*origin;	/* scheme://host[:port] of base_url */
	char		*base_path;	/* path of base_url: "" or "/sub" */
	int		 https;		/* base_url is https */
	char		*callback_url;	/* base_url + CALLBACK_PATH */
	const char	*data_dir;	/* SOSYABOT_DATA_DIR */
	char		*key_file;	/* SOSYABOT_KEY_FILE or data_dir/master.key */
	const char	*x_api;		/* X_API_BASE_URL */
	const char	*x_authorize;	/* X_AUTHORIZE_URL */
	const char	*x_web;		/* X_WEB_BASE_URL */
	const char	*ca_bundle;	/* SOSYABOT_CA_BUNDLE or NULL */
	const char	*env_client_id;	/* TWITTER_CLIENT_ID or NULL */
	const char	*env_client_secret; /* TWITTER_CLIENT_SECRET or NULL */
};

#define CALLBACK_PATH	"/api/v1/auth/twitter/callback"

/* 0 on success; -1 when BASE_URL is malformed (err says why). */
int	 cfg_load(struct cfg *, char *err, size_t errlen);
void	 cfg_free(struct cfg *);

#endif
