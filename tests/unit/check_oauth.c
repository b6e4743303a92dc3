#include <stdlib.h>
#include <string.h>

#include "oauth.h"
#include "suites.h"
#include "tmpdir.h"

static char			*dir;
static struct store		*st;
static struct crypto_key	*key;
static struct cfg		 cfg;

static void
setup(void)
{
	char	 err[256], path[512];

	ck_assert_ptr_nonnull(dir = tmpdir_new());
	ck_assert_int_eq(store_open(&st, dir, 0), STORE_OK);
	snprintf(path, sizeof(path), "%s/master.key", dir);
	ck_assert_int_eq(crypto_key_create(path, err, sizeof(err)), 0);
	ck_assert_int_eq(crypto_key_load(path, &key, err, sizeof(err)), 0);
	setenv("BASE_URL", "https://example.org/sb", 1);
	setenv("X_AUTHORIZE_URL", "https://x.example/i/oauth2/authorize", 1);
	ck_assert_int_eq(cfg_load(&cfg, err, sizeof(err)), 0);
}

static void
teardown(void)
{
	cfg_free(&cfg);
	unsetenv("BASE_URL");
	unsetenv("X_AUTHORIZE_URL");
	crypto_key_free(key);
	store_close(st);
	tmpdir_rm(dir);
}

/* The value of query parameter name in url (malloc'd). */
static char *
param(const char *url, const char *name)
{
	char		 pat[64];
	const char	*p, *e;

	snprintf(pat, sizeof(pat), "%s=", name);
	if ((p = strstr(url, pat)) == NULL)
		return NULL;
	p += strlen(pat);
	e = strchr(p, '&');
	return strndup(p, e ? (size_t)(e - p) : strlen(p));
}

START_TEST(start_builds_the_consent_url)
{
	char	*url, *state, *challenge, *verifier, *expect;

	ck_assert_int_eq(oauth_start(st, key, &cfg, "my id", "sess-a", 1000,
	    &url), STORE_OK);
	ck_assert(strncmp(url, "https://x.example/i/oauth2/authorize?"
	    "response_type=code&client_id=my%20id&redirect_uri=https%3A%2F%2F"
	    "example.org%2Fsb%2Fapi%2Fv1%2Fauth%2Ftwitter%2Fcallback&scope="
	    "tweet.read%20tweet.write%20users.read&state=", 205) == 0);
	ck_assert_ptr_nonnull(strstr(url, "&code_challenge_method=S256"));
	state = param(url, "state");
	challenge = param(url, "code_challenge");
	/* The challenge is S256 of the verifier derived from the state. */
	verifier = oauth_verifier(key, state);
	ck_assert_uint_eq(strlen(verifier), 43);
	expect = crypto_pkce_challenge(verifier);
	ck_assert_str_eq(challenge, expect);
	/* Nothing stored holds the state or the verifier in the clear. */
	{
		char	*v;
		size_t	 n;

		ck_assert_int_eq(store_get(st, NULL, SDB_STATES, state, &v, &n),
		    STORE_NOTFOUND);
	}
	free(url);
	free(state);
	free(challenge);
	free(verifier);
	free(expect);
}
END_TEST

static char *
new_state(const char *sess, time_t now)
{
	char	*url, *state;

	ck_assert_int_eq(oauth_start(st, key, &cfg, "id", sess, now, &url),
	    STORE_OK);
	state = param(url, "state");
	free(url);
	return state;
}

START_TEST(take_is_single_use)
{
	char	*s = new_state("sess-a", 1000);

	ck_assert_int_eq(oauth_take(st, s, "sess-a", 1001), TAKE_OK);
	ck_assert_int_eq(oauth_take(st, s, "sess-a", 1002), TAKE_UNKNOWN);
	free(s);
	ck_assert_int_eq(oauth_take(st, "never-issued-state-xyz", "sess-a",
	    1000), TAKE_UNKNOWN);
}
END_TEST

START_TEST(take_checks_session_and_age)
{
	char	*s = new_state("sess-a", 1000), *t;

	ck_assert_int_eq(oauth_take(st, s, "sess-b", 1001), TAKE_OTHER_SESSION);
	/* Spent even so: the right session cannot use it after that. */
	ck_assert_int_eq(oauth_take(st, s, "sess-a", 1002), TAKE_UNKNOWN);
	free(s);
	t = new_state("sess-a", 1000);
	ck_assert_int_eq(oauth_take(st, t, "sess-a", 1000 + OAUTH_STATE_TTL),
	    TAKE_EXPIRED);
	free(t);
	t = new_state("sess-a", 1000);
	ck_assert_int_eq(oauth_take(st, t, "sess-a",
	    1000 + OAUTH_STATE_TTL - 1), TAKE_OK);
	free(t);
}
END_TEST

static int
count(const char *k, const char *v, size_t n, void *arg)
{
	(void)k;
	(void)v;
	(void)n;
	(*(int *)arg)++;
	return 0;
}

START_TEST(abandoned_states_are_swept)
{
	char	*a = new_state("sess-a", 1000), *b;
	int	 n = 0;

	b = new_state("sess-a", 1000 + OAUTH_STATE_TTL + 1);
	ck_assert_int_eq(store_scan(st, NULL, SDB_STATES, "", count, &n),
	    STORE_OK);
	ck_assert_int_eq(n, 1);
	free(a);
	free(b);
}
END_TEST

Suite *
suite_oauth(void)
{
	Suite	*s = suite_create("oauth");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, start_builds_the_consent_url);
	tcase_add_test(tc, take_is_single_use);
	tcase_add_test(tc, take_checks_session_and_age);
	tcase_add_test(tc, abandoned_states_are_swept);
	suite_add_tcase(s, tc);
	return s;
}
