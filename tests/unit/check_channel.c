#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "suites.h"
#include "tmpdir.h"

static char			*dir;
static struct store		*st;
static struct crypto_key	*key;

static void
setup(void)
{
	char	 err[256], path[512];

	ck_assert_ptr_nonnull(dir = tmpdir_new());
	ck_assert_int_eq(store_open(&st, dir, 0), STORE_OK);
	snprintf(path, sizeof(path), "%s/master.key", dir);
	ck_assert_int_eq(crypto_key_create(path, err, sizeof(err)), 0);
	ck_assert_int_eq(crypto_key_load(path, &key, err, sizeof(err)), 0);
}

static void
teardown(void)
{
	crypto_key_free(key);
	store_close(st);
	tmpdir_rm(dir);
}

static char *
add(const char *ws, const char *x_id, const char *handle, const char *token,
    time_t expires, int *updated)
{
	struct channel_new in = { ws, CHAN_OAUTH, x_id, handle, "Name",
	    "active", expires, token };
	char	*id;

	ck_assert_int_eq(channel_connect(st, key, &in, 5000, &id, updated),
	    STORE_OK);
	return id;
}

START_TEST(connect_get_list)
{
	struct channel	 c, *list;
	size_t		 n;
	int		 updated;
	char		*a, *b, *tok;

	a = add("acme", "11", "alice", "token-of-alice", 9000, &updated);
	ck_assert_int_eq(updated, 0);
	b = add("acme", "12", "bob", "token-of-bob", 9000, &updated);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(channel_get(st, NULL, "acme", a, &c), STORE_OK);
	ck_assert_str_eq(c.handle, "alice");
	ck_assert_str_eq(channel_status(&c, 8999), "active");
	ck_assert_str_eq(channel_status(&c, 9000), "needs_reconnect");
	/* The token is sealed, and bound to this channel. */
	ck_assert_ptr_null(strstr(c.secret, "token-of-alice"));
	ck_assert_ptr_nonnull(tok = channel_secret(key, &c));
	ck_assert_str_eq(tok, "token-of-alice");
	free(tok);
	free(c.id);
	c.id = strdup(b);
	ck_assert_ptr_null(channel_secret(key, &c));
	channel_free(&c);
	ck_assert_int_eq(channel_list(st, "acme", &list, &n), STORE_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0].id, a);
	channel_list_free(list, n);
	free(a);
	free(b);
}
END_TEST

START_TEST(same_account_updates)
{
	struct channel	 c;
	int		 updated;
	char		*a, *again, *tok;

	a = add("acme", "11", "alice", "old-token", 9000, &updated);
	again = add("acme", "11", "alice_renamed", "new-token", 20000, &updated);
	ck_assert_int_eq(updated, 1);
	ck_assert_str_eq(a, again);
	ck_assert_int_eq(channel_get(st, NULL, "acme", a, &c), STORE_OK);
	ck_assert_str_eq(c.handle, "alice_renamed");
	ck_assert_int_eq(c.expires_at, 20000);
	tok = channel_secret(key, &c);
	ck_assert_str_eq(tok, "new-token");
	free(tok);
	channel_free(&c);
	free(a);
	free(again);
}
END_TEST

START_TEST(workspaces_are_apart)
{
	struct channel	 c, *list;
	size_t		 n;
	int		 updated;
	char		*a, *b;

	a = add("acme", "11", "alice", "t1", 0, &updated);
	b = add("other", "11", "alice", "t2", 0, &updated);
	ck_assert_int_eq(updated, 0);
	ck_assert_int_eq(channel_get(st, NULL, "other", a, &c), STORE_NOTFOUND);
	ck_assert_int_eq(channel_list(st, "acm", &list, &n), STORE_OK);
	ck_assert_uint_eq(n, 0);
	free(list);
	ck_assert_int_eq(channel_delete(st, "other", a), STORE_NOTFOUND);
	ck_assert_int_eq(channel_delete(st, "acme", a), STORE_OK);
	ck_assert_int_eq(channel_get(st, NULL, "acme", a, &c), STORE_NOTFOUND);
	ck_assert_int_eq(channel_set_status(st, "other", b, "needs_reconnect"),
	    STORE_OK);
	ck_assert_int_eq(channel_get(st, NULL, "other", b, &c), STORE_OK);
	ck_assert_str_eq(channel_status(&c, 1), "needs_reconnect");
	channel_free(&c);
	ck_assert(!channel_id_ok("0"));
	ck_assert(!channel_id_ok("1/2"));
	ck_assert(channel_id_ok("42"));
	free(a);
	free(b);
}
END_TEST

START_TEST(json_view)
{
	struct channel	 c;
	json_t		*j;
	int		 updated;
	char		*a, *s;

	a = add("acme", "11", "alice", "t1", 0, &updated);
	ck_assert_int_eq(channel_get(st, NULL, "acme", a, &c), STORE_OK);
	j = channel_json(&c, 6000);
	s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_str_eq(s, "{\"connected_at\":\"1970-01-01T01:23:20Z\","
	    "\"expires_at\":null,\"handle\":\"alice\",\"id\":\"1\","
	    "\"mode\":\"oauth\",\"name\":\"Name\",\"provider\":\"x\","
	    "\"status\":\"active\"}");
	free(s);
	json_decref(j);
	channel_free(&c);
	free(a);
}
END_TEST

Suite *
suite_channel(void)
{
	Suite	*s = suite_create("channel");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, connect_get_list);
	tcase_add_test(tc, same_account_updates);
	tcase_add_test(tc, workspaces_are_apart);
	tcase_add_test(tc, json_view);
	suite_add_tcase(s, tc);
	return s;
}
