/*
 * user: accounts and workspaces.
 *
 * A user belongs to one workspace and has a role (admin or member).
 * Passwords are hashed by pw.h.  Failed sign-ins are counted per
 * account: from the fifth consecutive failure the account is locked for
 * USER_LOCK_BASE seconds, doubling with every further failure (capped at
 * USER_LOCK_MAX); a success resets the count.
 */
#ifndef SB_USER_H
#define SB_USER_H

#include <time.h>

#include "store.h"

#define USER_LOCK_AFTER	5
#define USER_LOCK_BASE	30
#define USER_LOCK_MAX	(24 * 3600)

enum user_role { ROLE_MEMBER, ROLE_ADMIN };

struct user {
	char		*name;
	char		*workspace;
	enum user_role	 role;
};

/* Pure validators for names (1-64 of [A-Za-z0-9._-], not starting with '.'). */
int	 user_name_ok(const char *);
int	 workspace_name_ok(const char *);
/* Passwords: 8-1024 bytes, no control characters. */
int	 user_password_ok(const char *);

/* Create a user (and its workspace if missing).  STORE_EXISTS if taken. */
int	 user_add(struct store *, const char *name, const char *workspace,
	    enum user_role, const char *password);
int	 user_passwd(struct store *, const char *name, const char *password);
int	 user_del(struct store *, const char *name);
/* Load a user; u's strings are owned by u (user_free). */
int	 user_get(struct store *, const char *name, struct user *u);
void	 user_free(struct user *);
/* Call fn for each user. */
int	 user_each(struct store *, void (*fn)(const struct user *, void *),
	    void *arg);

enum auth_result {
	AUTH_OK,
	AUTH_BAD,	/* unknown user or wrong password (same answer) */
	AUTH_LOCKED,	/* too many failures: *retry_after seconds */
	AUTH_FAIL	/* store trouble */
};

/*
 * Check a sign-in and record its outcome (failure count, lock) in one
 * transaction.  On AUTH_OK, u is filled in.
 */
enum auth_result user_auth(struct store *, const char *name,
	    const char *password, time_t now, struct user *u,
	    long *retry_after);

int	 workspace_add(struct store *, const char *name);	/* EXISTS ok */
int	 workspace_each(struct store *, void (*fn)(const char *, void *),
	    void *arg);

#endif
