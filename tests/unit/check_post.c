#include <stdlib.h>
#include <string.h>

#include "post.h"
#include "suites.h"
#include "tmpdir.h"

static char		*dir;
static struct store	*st;

static void
setup(void)
{
	ck_assert_ptr_nonnull(dir = tmpdir_new());
	ck_assert_int_eq(store_open(&st, dir, 0), STORE_OK);
}

static void
teardown(void)
{
	store_close(st);
	tmpdir_rm(dir);
}

static const struct post_target two[] = { { "1", "one" }, { "2", "two" } };

static int
collect(const char *ws, const char *id, void *arg)
{
	char	*s = arg;

	strcat(s, ws);
	strcat(s, ":");
	strcat(s, id);
	strcat(s, " ");
	return 0;
}

START_TEST(create_now_is_sending)
{
	struct post	 p;
	char		*id;

	ck_assert_int_eq(post_create(st, "acme", "mia", "hello", two, 2, 0, 1000,
	    &id), STORE_OK);
	ck_assert_int_eq(post_get(st, NULL, "acme", id, &p), STORE_OK);
	ck_assert_uint_eq(p.nd, 2);
	ck_assert_str_eq(p.d[0].state, "sending");
	ck_assert_str_eq(p.text, "hello");
	post_free(&p);
	ck_assert_int_eq(post_get(st, NULL, "other", id, &p), STORE_NOTFOUND);
	free(id);
}
END_TEST

START_TEST(settle_and_claim)
{
	struct outcome	 posted = { "posted", "123", NULL, 0 };
	struct outcome	 unknown = { "unknown", NULL, "timeout", 0 };
	struct post	 p;
	char		*id;

	ck_assert_int_eq(post_create(st, "acme", "mia", "t", two, 2, 0, 1000,
	    &id), STORE_OK);
	ck_assert_int_eq(post_settle(st, "acme", id, "1", &posted, 1001),
	    STORE_OK);
	ck_assert_int_eq(post_settle(st, "acme", id, "2", &unknown, 1001),
	    STORE_OK);
	/* Only an unknown (or failed) delivery can be taken again, once. */
	ck_assert_int_eq(post_claim(st, "acme", id, "1", "unknown failed",
	    1002), STORE_ABORT);
	ck_assert_int_eq(post_claim(st, "acme", id, "2", "unknown failed",
	    1002), STORE_OK);
	ck_assert_int_eq(post_claim(st, "acme", id, "2", "unknown failed",
	    1002), STORE_ABORT);
	ck_assert_int_eq(post_claim(st, "acme", id, "9", "unknown", 1002),
	    STORE_NOTFOUND);
	ck_assert_int_eq(post_get(st, NULL, "acme", id, &p), STORE_OK);
	ck_assert_str_eq(p.d[0].x_id, "123");
	ck_assert_str_eq(p.d[1].state, "sending");
	ck_assert_ptr_null(p.d[1].reason);
	post_free(&p);
	free(id);
}
END_TEST

START_TEST(scheduled_become_due)
{
	char	 seen[256] = "", **claimed;
	char	*id;
	size_t	 n;

	ck_assert_int_eq(post_create(st, "acme", "mia", "later", two, 2, 5000,
	    1000, &id), STORE_OK);
	ck_assert_int_eq(post_each_due(st, 4999, 10, collect, seen), STORE_OK);
	ck_assert_str_eq(seen, "");
	ck_assert_int_eq(post_each_due(st, 5000, 10, collect, seen), STORE_OK);
	ck_assert_ptr_nonnull(strstr(seen, "acme:"));
	ck_assert_int_eq(post_take_due(st, "acme", id, 5000, &claimed, &n),
	    STORE_OK);
	ck_assert_uint_eq(n, 2);
	free(claimed[0]);
	free(claimed[1]);
	free(claimed);
	/* Taken: a second scheduler finds nothing to claim. */
	ck_assert_int_eq(post_take_due(st, "acme", id, 5000, &claimed, &n),
	    STORE_OK);
	ck_assert_uint_eq(n, 0);
	free(claimed);
	free(id);
}
END_TEST

START_TEST(orphaned_sending_becomes_unknown)
{
	struct post	 p;
	char		 seen[256] = "", **claimed;
	char		*id;
	size_t		 n;

	ck_assert_int_eq(post_create(st, "acme", "mia", "x", two, 1, 0, 1000,
	    &id), STORE_OK);
	/* A killed sender leaves "sending": due for a look once stale. */
	ck_assert_int_eq(post_each_due(st, 1000 + POST_STALE_SENDING - 1, 10,
	    collect, seen), STORE_OK);
	ck_assert_str_eq(seen, "");
	ck_assert_int_eq(post_each_due(st, 1000 + POST_STALE_SENDING, 10,
	    collect, seen), STORE_OK);
	ck_assert_str_ne(seen, "");
	ck_assert_int_eq(post_take_due(st, "acme", id, 1000 +
	    POST_STALE_SENDING, &claimed, &n), STORE_OK);
	/* Never claimed for sending again: unknown, for the user to decide. */
	ck_assert_uint_eq(n, 0);
	free(claimed);
	ck_assert_int_eq(post_get(st, NULL, "acme", id, &p), STORE_OK);
	ck_assert_str_eq(p.d[0].state, "unknown");
	ck_assert_ptr_nonnull(strstr(p.d[0].reason, "may or may not"));
	post_free(&p);
	seen[0] = '\0';
	ck_assert_int_eq(post_each_due(st, 99999, 10, collect, seen), STORE_OK);
	ck_assert_str_eq(seen, "");
	free(id);
}
END_TEST

START_TEST(rate_limited_retry)
{
	struct outcome	 lim = { "rate_limited", NULL, "spent", 3000 };
	char		 seen[256] = "", **claimed;
	char		*id;
	size_t		 n;

	ck_assert_int_eq(post_create(st, "acme", "mia", "x", two, 1, 0, 1000,
	    &id), STORE_OK);
	ck_assert_int_eq(post_settle(st, "acme", id, "1", &lim, 1001), STORE_OK);
	ck_assert_int_eq(post_each_due(st, 2999, 10, collect, seen), STORE_OK);
	ck_assert_str_eq(seen, "");
	ck_assert_int_eq(post_take_due(st, "acme", id, 3000, &claimed, &n),
	    STORE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(claimed[0], "1");
	free(claimed[0]);
	free(claimed);
	free(id);
}
END_TEST

START_TEST(list_newest_first_and_paged)
{
	struct post	*list;
	char		*ids[5];
	size_t		 n, i;

	for (i = 0; i < 5; i++)
		ck_assert_int_eq(post_create(st, "acme", "mia", "p", two, 1, 0,
		    1000, &ids[i]), STORE_OK);
	ck_assert_int_eq(post_list(st, "acme", NULL, 2, &list, &n), STORE_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0].id, ids[4]);
	ck_assert_str_eq(list[1].id, ids[3]);
	post_list_free(list, n);
	ck_assert_int_eq(post_list(st, "acme", ids[3], 10, &list, &n), STORE_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(list[0].id, ids[2]);
	post_list_free(list, n);
	ck_assert_int_eq(post_list(st, "other", NULL, 10, &list, &n), STORE_OK);
	ck_assert_uint_eq(n, 0);
	post_list_free(list, n);
	for (i = 0; i < 5; i++)
		free(ids[i]);
}
END_TEST

/*
 * The history reads records without Jansson when it can: what it takes
 * must read exactly as post_get() (Jansson) reads it, and what Jansson
 * refuses must not be listed.
 */
static const char *const raw_records[] = {
	"{\"text\":\"plain\",\"by\":\"mia\",\"created_at\":1000,\"sch"
	    "eduled_at\":0,\"deliveries\":[{\"channel\":\"1\",\"handle\":"
	    "\"one\",\"state\":\"posted\",\"updated_at\":1001,\"x_id\":\""
	    "123\",\"retry_at\":0}]}",
	"{\"text\":\"q\\\"b\\\\s\\/ \\b\\f\\n\\r\\t \\u00e9\\u4E2D\\u"
	    "d83d\\ude00 raw \303\251\344\270\255\360\237\230\200\",\"by"
	    "\":\"mia\",\"created_at\":5,\"scheduled_at\":7,\"deliveries"
	    "\":[{\"channel\":\"2\",\"handle\":\"two\",\"state\":\"failed"
	    "\",\"reason\":\"X said \\\"no\\\"\",\"x_id\":null,\"retry_at"
	    "\":null,\"updated_at\":9},{\"channel\":\"3\",\"handle\":\"th"
	    "ree\",\"state\":\"scheduled\",\"updated_at\":-1}],\"due\":\""
	    "000000000007/rd/2\"}",
	" { \"by\" : \"ann\" , \"extra\" : 5 , \"z\" : null , \"text"
	    "\" : \"\" , \"deliveries\" : [ ] , \"created_at\" : -0 }\012",
	"{\"text\":\"r\",\"by\":\"m\",\"created_at\":1.5,\"deliveries"
	    "\":[]}",
	"{\"text\":\"t\",\"by\":\"m\",\"flag\":true,\"deliveries\":[]"
	    "}",
	"{\"text\":\"n\",\"by\":\"m\",\"meta\":{\"a\":[1]},\"deliveri"
	    "es\":[]}",
	"{\"text\":\"first\",\"text\":\"second\",\"by\":\"m\",\"deliv"
	    "eries\":[]}",
	"{\"text\":\"\\ud800\",\"by\":\"m\",\"deliveries\":[]}",
	"{\"text\":\"a\\u0000b\",\"by\":\"m\",\"deliveries\":[]}",
	"{\"text\":\"a\001b\",\"by\":\"m\",\"deliveries\":[]}",
	"{\"text\":\"\377\",\"by\":\"m\",\"deliveries\":[]}",
	"{\"text\":5,\"by\":\"m\",\"deliveries\":[]}",
	"{\"text\":\"x\",\"by\":\"m\"}",
	"{\"text\":\"x\",\"by\":\"m\",\"deliveries\":[1]}",
	"{\"text\":\"x\",\"by\":\"m\",\"deliveries\":[]} x",
	"{\"text\":\"x\",\"by\":\"m\",\"created_at\":01,\"deliveries"
	    "\":[]}",
	"{\"text\":\"x\",\"by\":\"m\",\"created_at\":9999999999999999"
	    "9999,\"deliveries\":[]}",
	"{\"text\":\"x\",\"by\":\"m\",\"deliveries\":[{\"channel\":\""
	    "1\",\"state\":\"s\"}]}",
	"{\"text\":\"five\",\"by\":\"m\",\"deliveries\":[{\"channel\""
	    ":\"0\",\"handle\":\"h0\",\"state\":\"posted\",\"updated_at\""
	    ":0},{\"channel\":\"1\",\"handle\":\"h1\",\"state\":\"posted"
	    "\",\"updated_at\":1},{\"channel\":\"2\",\"handle\":\"h2\",\""
	    "state\":\"posted\",\"updated_at\":2},{\"channel\":\"3\",\"ha"
	    "ndle\":\"h3\",\"state\":\"posted\",\"updated_at\":3},{\"chan"
	    "nel\":\"4\",\"handle\":\"h4\",\"state\":\"posted\",\"updated"
	    "_at\":4}]}",
	"{\"t\\u0065xt\":\"esc key\",\"by\":\"m\",\"deliveries\":[]}",
	"{\"text\":\"x\",\"by\":null,\"deliveries\":[]}",
	"{\"text\":\"x\",\"by\":\"m\",\"created_at\":\"12\",\"deliver"
	    "ies\":[]}",
	"{\"text\":\"x\",\"by\":\"m\",\"deliveries\":[{\"channel\":\""
	    "1\",\"handle\":\"h\",\"state\":\"s\",\"x_id\":null,\"x_id\":"
	    "\"9\"}]}",
	"{\"text\":\"x\",\"by\":\"m\",\"deliveries\":[],\"deliveries"
	    "\":[]}",
	"{\"text\":\"x\\ud83dy\",\"by\":\"m\",\"deliveries\":[]}",
	"{\"text\":\"x\",\"by\":\"m\",\"deliveries\":[]",
	"{}",
	"[]",
};

struct raw {
	const char	*key, *val;
};

static int
put_raw_fn(struct store *s, DB_TXN *txn, void *arg)
{
	const struct raw	*r = arg;

	return store_put(s, txn, SDB_POSTS, r->key, r->val, strlen(r->val));
}

static void
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		ck_assert_ptr_eq(a, b);
	else
		ck_assert_str_eq(a, b);
}

START_TEST(list_reads_records_as_jansson)
{
	struct post	*list, p;
	struct raw	 r;
	char		 key[64], id[24];
	size_t		 n, i, k, j, listed = 0;
	int		 rc;

	n = sizeof(raw_records) / sizeof(raw_records[0]);
	for (i = 0; i < n; i++) {
		/* Keys as lib/post.c makes them: newest (highest id) first. */
		snprintf(key, sizeof(key), "rd/%019llu",
		    9999999999999999999ULL - (unsigned long long)(i + 1));
		r.key = key;
		r.val = raw_records[i];
		ck_assert_int_eq(store_txn(st, put_raw_fn, &r), STORE_OK);
	}
	ck_assert_int_eq(post_list(st, "rd", NULL, 100, &list, &k), STORE_OK);
	for (i = n; i > 0; i--) {
		snprintf(id, sizeof(id), "%zu", i);
		rc = post_get(st, NULL, "rd", id, &p);
		for (j = 0; j < k && strcmp(list[j].id, id) != 0; j++)
			continue;
		if (rc != STORE_OK) {
			ck_assert_msg(j == k, "record %s listed, but Jansson "
			    "refuses it", id);
			continue;
		}
		ck_assert_msg(j < k, "record %s not listed", id);
		listed++;
		ck_assert_str_eq(list[j].ws, p.ws);
		same_str(list[j].text, p.text);
		same_str(list[j].by, p.by);
		ck_assert_int_eq(list[j].created_at, p.created_at);
		ck_assert_int_eq(list[j].scheduled_at, p.scheduled_at);
		ck_assert_uint_eq(list[j].nd, p.nd);
		for (size_t d = 0; d < p.nd; d++) {
			same_str(list[j].d[d].channel, p.d[d].channel);
			same_str(list[j].d[d].handle, p.d[d].handle);
			same_str(list[j].d[d].state, p.d[d].state);
			same_str(list[j].d[d].x_id, p.d[d].x_id);
			same_str(list[j].d[d].reason, p.d[d].reason);
			ck_assert_int_eq(list[j].d[d].retry_at, p.d[d].retry_at);
			ck_assert_int_eq(list[j].d[d].updated_at,
			    p.d[d].updated_at);
		}
		post_free(&p);
	}
	ck_assert_uint_eq(listed, k);
	/* Those both take, and those only Jansson takes (a real, true, a
	 * nested object, a key twice, a number as a string). */
	ck_assert_uint_eq(k, 12);
	post_list_free(list, k);
}
END_TEST

Suite *
suite_post(void)
{
	Suite	*s = suite_create("post");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, create_now_is_sending);
	tcase_add_test(tc, settle_and_claim);
	tcase_add_test(tc, scheduled_become_due);
	tcase_add_test(tc, orphaned_sending_becomes_unknown);
	tcase_add_test(tc, rate_limited_retry);
	tcase_add_test(tc, list_newest_first_and_paged);
	tcase_add_test(tc, list_reads_records_as_jansson);
	suite_add_tcase(s, tc);
	return s;
}
