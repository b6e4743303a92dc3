/*
 * outbox: send a claimed delivery to X and record what became of it.
 *
 * Before anything leaves, the budget X last reported for the account
 * (x-rate-limit-*) and for the app (x-app-limit-24hour-*) is checked:
 * when X said it is spent, the delivery is kept as rate_limited until
 * the reset, and no request (no charge) is made.
 */
#ifndef SB_OUTBOX_H
#define SB_OUTBOX_H

#include <time.h>

#include "cfg.h"
#include "crypto.h"
#include "store.h"

/* A 429 without x-rate-limit-reset is retried after this. */
#define OUTBOX_DEFAULT_RETRY	(15 * 60)

/*
 * Send the delivery of channel in post (ws, id), which the caller has
 * claimed ("sending"), and record its outcome.  Returns the state it
 * ended in, or NULL when even that could not be recorded (the delivery
 * then stays "sending" and becomes "unknown" later: never resent).
 */
const char *outbox_send(struct store *, const struct cfg *,
	    const struct crypto_key *, const char *ws, const char *id,
	    const char *channel, const char *text, time_t now);

#endif
