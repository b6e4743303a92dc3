/*
 * channel: an X account connected to a workspace.
 *
 * Records live in database "channels" under "<workspace>/<id>", so a
 * lookup is always within the asker's workspace (another workspace's
 * channel simply does not exist for it) and a workspace's channels are
 * one key range.  The access token (OAuth) or cookies (cookie connect)
 * are sealed under "channels/<workspace>/<id>/secret".
 */
#ifndef SB_CHANNEL_H
#define SB_CHANNEL_H

#include <time.h>

#include <jansson.h>

#include "crypto.h"
#include "store.h"

enum chan_mode { CHAN_OAUTH, CHAN_COOKIE };

struct channel {
	char		*id;		/* decimal string */
	char		*ws;
	enum chan_mode	 mode;
	char		*x_id;		/* X's numeric user id, or NULL */
	char		*handle;	/* without "@" */
	char		*name;		/* display name */
	char		*status;	/* stored: active, needs_reconnect,
					   unverified */
	time_t		 connected_at;
	time_t		 expires_at;	/* 0: no expiry known */
	char		*secret;	/* sealed token or cookies */
};

/* The state to show: an OAuth token past its expiry needs a reconnect. */
const char *channel_status(const struct channel *, time_t now);

int	 channel_get(struct store *, DB_TXN *, const char *ws, const char *id,
	    struct channel *);
/* All channels of a workspace, by id. */
int	 channel_list(struct store *, const char *ws, struct channel **,
	    size_t *n);
void	 channel_free(struct channel *);
void	 channel_list_free(struct channel *, size_t n);

/*
 * Store a connection (a new channel, or the same X account of the same
 * mode in this workspace updated in place): the secret is sealed.
 * *id is malloc'd; *updated says which happened.
 */
struct channel_new {
	const char	*ws;
	enum chan_mode	 mode;
	const char	*x_id;		/* may be NULL (unverified cookies) */
	const char	*handle;
	const char	*name;
	const char	*status;
	time_t		 expires_at;
	const char	*secret;	/* plaintext, sealed here */
};
int	 channel_connect(struct store *, const struct crypto_key *,
	    const struct channel_new *, time_t now, char **id, int *updated);

int	 channel_set_status(struct store *, const char *ws, const char *id,
	    const char *status);
int	 channel_delete(struct store *, const char *ws, const char *id);

/* The unsealed token or cookies, malloc'd; NULL if it does not open. */
char	*channel_secret(const struct crypto_key *, const struct channel *);

/* The API's view of a channel (contract: id, provider, mode, ...). */
json_t	*channel_json(const struct channel *, time_t now);

/* A valid channel id: 1 to 19 digits. */
int	 channel_id_ok(const char *);

#endif
