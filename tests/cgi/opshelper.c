/*
 * opshelper: what tests/cgi/t-ops.sh needs that the programs do not do
 * on their own.  The data directory and key file come from the
 * environment, as for every program.
 *
 *   opshelper hold
 *	Open the store, print "open", and keep it open until standard
 *	input reaches end of file: a process that uses the store, for
 *	restore to refuse and rekey to wait for.
 *
 *   opshelper channels N
 *	Connect N cookie channels in workspace "default" through
 *	channel_connect, so each has a secret sealed the way the
 *	programs seal it: handle "h<i>", secret "secret-<i>".
 *
 *   opshelper check-channels
 *	Open every channel's secret in workspace "default" the way the
 *	programs do (channel_secret) and compare it with what "channels"
 *	stored; print how many opened.
 *
 * Exit 0 when all is well, 1 when a check failed, 2 on other errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "channel.h"
#include "crypto.h"
#include "store.h"

#define WS	"default"

static struct cfg	 cfg;

static int
hold(void)
{
	struct store	*st;
	char		 b[64];

	if (store_open(&st, cfg.data_dir, STORE_RDONLY) != STORE_OK)
		return 2;
	/* A read-only store attaches on first use: use it. */
	if (store_env(st) == NULL) {
		store_close(st);
		return 2;
	}
	printf("open\n");
	fflush(stdout);
	while (fread(b, 1, sizeof(b), stdin) > 0)
		continue;
	store_close(st);
	return 0;
}

static int
channels(const char *count, const struct crypto_key *k)
{
	struct channel_new	 in;
	struct store		*st;
	char			 handle[32], xid[32], secret[64], *id;
	long			 i, n = strtol(count, NULL, 10);
	int			 updated, rc = 0;

	if (n < 1 || store_open(&st, cfg.data_dir, 0) != STORE_OK)
		return 2;
	for (i = 1; i <= n && rc == 0; i++) {
		snprintf(handle, sizeof(handle), "h%ld", i);
		snprintf(xid, sizeof(xid), "%ld", 90000 + i);
		snprintf(secret, sizeof(secret), "secret-%ld", i);
		memset(&in, 0, sizeof(in));
		in.ws = WS;
		in.mode = CHAN_COOKIE;
		in.x_id = xid;
		in.handle = handle;
		in.name = handle;
		in.status = "active";
		in.secret = secret;
		if (channel_connect(st, k, &in, time(NULL), &id, &updated) !=
		    STORE_OK)
			rc = 2;
		else
			free(id);
	}
	store_close(st);
	return rc;
}

static int
check_channels(const struct crypto_key *k)
{
	struct store	*st;
	struct channel	*c;
	char		 want[64], *got;
	size_t		 n, i, ok = 0;

	if (store_open(&st, cfg.data_dir, STORE_RDONLY) != STORE_OK)
		return 2;
	if (channel_list(st, WS, &c, &n) != STORE_OK) {
		store_close(st);
		return 2;
	}
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "secret-%s", c[i].handle + 1);
		got = channel_secret(k, &c[i]);
		if (got != NULL && strcmp(got, want) == 0)
			ok++;
		else
			printf("channel %s (@%s): its secret does not open\n",
			    c[i].id, c[i].handle);
		free(got);
	}
	channel_list_free(c, n);
	store_close(st);
	printf("%zu of %zu channels open\n", ok, n);
	return ok == n ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	struct crypto_key	*k = NULL;
	char			 err[256];
	int			 rc = 2;

	if (cfg_load(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "opshelper: %s\n", err);
		return 2;
	}
	if (argc == 2 && strcmp(argv[1], "hold") == 0)
		rc = hold();
	else if ((argc == 3 && strcmp(argv[1], "channels") == 0) ||
	    (argc == 2 && strcmp(argv[1], "check-channels") == 0)) {
		if (crypto_key_load(cfg.key_file, &k, err, sizeof(err)) != 0)
			fprintf(stderr, "opshelper: %s\n", err);
		else if (argc == 3)
			rc = channels(argv[2], k);
		else
			rc = check_channels(k);
		crypto_key_free(k);
	} else
		fprintf(stderr, "usage: opshelper hold | channels N | "
		    "check-channels\n");
	cfg_free(&cfg);
	return rc;
}
