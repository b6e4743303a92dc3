/*
 * sosyabotctl: the command-line tool for an instance's data directory
 * (SOSYABOT_DATA_DIR).  Run it as the web server's user: Berkeley DB's
 * region files take the owner of whoever creates them.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "backup.h"
#include "cfg.h"
#include "crypto.h"
#include "opt.h"
#include "outbox.h"
#include "post.h"
#include "rekey.h"
#include "store.h"
#include "tm.h"
#include "user.h"

struct cmd {
	const char	*group;
	const char	*name;		/* NULL: the group is the command */
	const char	*usage;
	int		 (*fn)(int, char **);
};

static struct cfg	 cfg;

static int
fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "sosyabotctl: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 1;
}

static const char *
rc_text(int rc)
{
	switch (rc) {
	case STORE_NOTFOUND: return "not found";
	case STORE_EXISTS: return "already exists";
	case STORE_ABORT: return "invalid value";
	case STORE_BUSY: return "the store is busy, try again";
	default: return "the store is unavailable";
	}
}

static struct store *
open_store(int rdonly)
{
	struct store	*st;

	if (store_open(&st, cfg.data_dir, rdonly ? STORE_RDONLY : 0) !=
	    STORE_OK) {
		fail("cannot open the store in %s", cfg.data_dir);
		return NULL;
	}
	return st;
}

static struct crypto_key *
load_key(void)
{
	struct crypto_key	*k;
	char			 err[256];

	if (crypto_key_load(cfg.key_file, &k, err, sizeof(err)) != 0) {
		fail("%s", err);
		return NULL;
	}
	return k;
}

/* One line from stdin, without its newline; NULL at EOF or when empty. */
static char *
read_line(void)
{
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;

	if ((n = getline(&line, &cap, stdin)) <= 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n == 0) {
		free(line);
		return NULL;
	}
	return line;
}

/* Changes made from the command line are audited as "cli". */
static void	 cli_audit(struct store *, const char *, const char *,
		    const char *, ...) __attribute__((format(printf, 4, 5)));

static void
cli_audit(struct store *st, const char *ws, const char *kind,
    const char *fmt, ...)
{
	char	 what[300];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (audit_add(st, time(NULL), "cli", ws, NULL, kind, what) != STORE_OK)
		fail("%s", "the audit record could not be stored");
}

static int
cmd_init(int argc, char **argv)
{
	struct store	*st;
	struct stat	 sb;
	char		 err[256];

	(void)argv;
	if (argc != 0)
		return fail("%s", "usage: sosyabotctl init");
	if (mkdir(cfg.data_dir, 0700) != 0 && errno != EEXIST)
		return fail("cannot create %s", cfg.data_dir);
	if (stat(cfg.key_file, &sb) != 0 &&
	    crypto_key_create(cfg.key_file, err, sizeof(err)) != 0)
		return fail("%s", err);
	if ((st = open_store(0)) == NULL)
		return 1;
	store_close(st);
	return 0;
}

static int
cmd_user_add(int argc, char **argv)
{
	const char	*name = NULL, *ws = NULL;
	enum user_role	 role = ROLE_MEMBER;
	struct store	*st;
	char		*pw;
	int		 i, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--admin") == 0)
			role = ROLE_ADMIN;
		else if (strcmp(argv[i], "--workspace") == 0 && i + 1 < argc)
			ws = argv[++i];
		else if (argv[i][0] != '-' && name == NULL)
			name = argv[i];
		else
			return fail("unexpected argument: %s", argv[i]);
	}
	if (name == NULL || ws == NULL)
		return fail("%s", "usage: sosyabotctl user add NAME "
		    "--workspace W [--admin] < password");
	if (!user_name_ok(name) || !workspace_name_ok(ws))
		return fail("%s", "names are 1-64 of A-Z a-z 0-9 . _ - "
		    "(not starting with a dot)");
	if ((pw = read_line()) == NULL || !user_password_ok(pw)) {
		free(pw);
		return fail("%s", "give the password as one line on stdin "
		    "(8 to 1024 characters, no control characters)");
	}
	if ((st = open_store(0)) == NULL) {
		free(pw);
		return 1;
	}
	rc = user_add(st, name, ws, role, pw);
	free(pw);
	if (rc == STORE_OK)
		cli_audit(st, ws, "user.add", "added user %s (workspace %s, %s)",
		    name, ws, role == ROLE_ADMIN ? "admin" : "member");
	store_close(st);
	if (rc != STORE_OK)
		return fail("user add: %s", rc_text(rc));
	return 0;
}

static void
print_user(const struct user *u, void *arg)
{
	(void)arg;
	printf("%s\t%s\t%s\n", u->name, u->workspace,
	    u->role == ROLE_ADMIN ? "admin" : "member");
}

static int
cmd_user_list(int argc, char **argv)
{
	struct store	*st;
	int		 rc;

	(void)argv;
	if (argc != 0)
		return fail("%s", "usage: sosyabotctl user list");
	if ((st = open_store(1)) == NULL)
		return 1;
	rc = user_each(st, print_user, NULL);
	store_close(st);
	return rc == STORE_OK ? 0 : fail("user list: %s", rc_text(rc));
}

static int
cmd_user_passwd(int argc, char **argv)
{
	struct store	*st;
	char		*pw;
	int		 rc;

	if (argc != 1)
		return fail("%s", "usage: sosyabotctl user passwd NAME "
		    "< password");
	if ((pw = read_line()) == NULL || !user_password_ok(pw)) {
		free(pw);
		return fail("%s", "give the password as one line on stdin "
		    "(8 to 1024 characters)");
	}
	if ((st = open_store(0)) == NULL) {
		free(pw);
		return 1;
	}
	rc = user_passwd(st, argv[0], pw);
	free(pw);
	if (rc == STORE_OK)
		cli_audit(st, NULL, "user.passwd", "set a new password for %s",
		    argv[0]);
	store_close(st);
	return rc == STORE_OK ? 0 : fail("user passwd: %s", rc_text(rc));
}

static int
cmd_user_del(int argc, char **argv)
{
	struct store	*st;
	int		 rc;

	if (argc != 1)
		return fail("%s", "usage: sosyabotctl user del NAME");
	if ((st = open_store(0)) == NULL)
		return 1;
	rc = user_del(st, argv[0]);
	if (rc == STORE_OK)
		cli_audit(st, NULL, "user.del", "deleted user %s", argv[0]);
	store_close(st);
	return rc == STORE_OK ? 0 : fail("user del: %s", rc_text(rc));
}

static int
cmd_ws_add(int argc, char **argv)
{
	struct store	*st;
	int		 rc;

	if (argc != 1)
		return fail("%s", "usage: sosyabotctl workspace add NAME");
	if ((st = open_store(0)) == NULL)
		return 1;
	rc = workspace_add(st, argv[0]);
	store_close(st);
	return rc == STORE_OK ? 0 : fail("workspace add: %s", rc_text(rc));
}

static void
print_ws(const char *name, void *arg)
{
	(void)arg;
	printf("%s\n", name);
}

static int
cmd_ws_list(int argc, char **argv)
{
	struct store	*st;
	int		 rc;

	(void)argv;
	if (argc != 0)
		return fail("%s", "usage: sosyabotctl workspace list");
	if ((st = open_store(1)) == NULL)
		return 1;
	rc = workspace_each(st, print_ws, NULL);
	store_close(st);
	return rc == STORE_OK ? 0 : fail("workspace list: %s", rc_text(rc));
}

static int
cmd_opt_get(int argc, char **argv)
{
	struct store	*st;
	char		*v;
	int		 rc;

	if (argc != 1)
		return fail("%s", "usage: sosyabotctl options get KEY");
	if (!opt_known(argv[0]))
		return fail("unknown option: %s", argv[0]);
	if ((st = open_store(1)) == NULL)
		return 1;
	rc = opt_get(st, NULL, argv[0], &v);
	store_close(st);
	if (rc == STORE_NOTFOUND)
		return 1;
	if (rc != STORE_OK)
		return fail("options get: %s", rc_text(rc));
	/* A secret is never printed, only that it is set. */
	printf("%s\n", opt_secret(argv[0]) ? "set" : v);
	free(v);
	return 0;
}

static int
cmd_opt_set(int argc, char **argv)
{
	struct store		*st;
	struct crypto_key	*k = NULL;
	char			*stdin_val = NULL;
	const char		*val;
	int			 rc;

	if (argc != 2)
		return fail("%s", "usage: sosyabotctl options set KEY VALUE|-");
	if (!opt_known(argv[0]))
		return fail("unknown option: %s", argv[0]);
	/* "-": the value from stdin, so a secret stays out of ps(1). */
	val = argv[1];
	if (strcmp(val, "-") == 0 && (val = stdin_val = read_line()) == NULL)
		return fail("%s", "no value on stdin");
	if (opt_secret(argv[0]) && (k = load_key()) == NULL) {
		free(stdin_val);
		return 1;
	}
	if ((st = open_store(0)) == NULL) {
		crypto_key_free(k);
		free(stdin_val);
		return 1;
	}
	rc = opt_set(st, k, argv[0], val);
	store_close(st);
	crypto_key_free(k);
	free(stdin_val);
	return rc == STORE_OK ? 0 : fail("options set: %s", rc_text(rc));
}

static int
cmd_opt_unset(int argc, char **argv)
{
	struct store	*st;
	int		 rc;

	if (argc != 1)
		return fail("%s", "usage: sosyabotctl options unset KEY");
	if (!opt_known(argv[0]))
		return fail("unknown option: %s", argv[0]);
	if ((st = open_store(0)) == NULL)
		return 1;
	rc = opt_unset(st, argv[0]);
	store_close(st);
	return rc == STORE_OK ? 0 : fail("options unset: %s", rc_text(rc));
}

static int
cmd_verify(int argc, char **argv)
{
	struct store		*st;
	struct crypto_key	*k;
	struct rekey_census	 c;
	int			 bad = 0;

	(void)argv;
	if (argc != 0)
		return fail("%s", "usage: sosyabotctl verify");
	if (store_verify(cfg.data_dir, stderr) != STORE_OK)
		bad = fail("%s", "the databases did not verify");
	if ((k = load_key()) == NULL)
		return 1;
	if ((st = open_store(1)) == NULL) {
		crypto_key_free(k);
		return 1;
	}
	/* Every sealed value (options and channels), each one named. */
	if (rekey_census(st, k, &c, stderr) != STORE_OK)
		bad = fail("%s", "the sealed values could not be read");
	else if (c.bad > 0)
		bad = fail("%s", "a sealed value does not open with the "
		    "master key (named above)");
	store_close(st);
	crypto_key_free(k);
	if (!bad)
		printf("ok\n");
	return bad;
}

/* An audit record of an operation on the whole store. */
static void
audit_op(const char *kind, const char *fmt, const char *arg)
{
	struct store	*st;

	if ((st = open_store(0)) == NULL)
		return;
	cli_audit(st, NULL, kind, fmt, arg);
	store_close(st);
}

static int
cmd_backup(int argc, char **argv)
{
	struct backup_opts	 o;
	const char		*dir = NULL;
	char			 err[1024];
	int			 i;

	memset(&o, 0, sizeof(o));
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--with-key") == 0)
			o.with_key = 1;
		else if (argv[i][0] != '-' && dir == NULL)
			dir = argv[i];
		else
			return fail("unexpected argument: %s", argv[i]);
	}
	if (dir == NULL)
		return fail("%s", "usage: sosyabotctl backup DIR [--with-key]");
	o.data_dir = cfg.data_dir;
	o.key_file = cfg.key_file;
	o.out = stdout;
	if (backup_make(&o, dir, err, sizeof(err)) != 0)
		return fail("backup: %s", err);
	audit_op("store.backup", o.with_key ? "backup to %s, with the key" :
	    "backup to %s", dir);
	return 0;
}

static int
cmd_restore(int argc, char **argv)
{
	struct backup_opts	 o;
	const char		*dir = NULL;
	char			 err[1024];
	int			 i;

	memset(&o, 0, sizeof(o));
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--with-key") == 0)
			o.with_key = 1;
		else if (strcmp(argv[i], "--force") == 0)
			o.force = 1;
		else if (argv[i][0] != '-' && dir == NULL)
			dir = argv[i];
		else
			return fail("unexpected argument: %s", argv[i]);
	}
	if (dir == NULL)
		return fail("%s", "usage: sosyabotctl restore DIR [--with-key] "
		    "[--force]");
	o.data_dir = cfg.data_dir;
	o.key_file = cfg.key_file;
	o.out = stdout;
	if (backup_restore(&o, dir, err, sizeof(err)) != 0)
		return fail("restore: %s", err);
	audit_op("store.restore", o.with_key ? "restored the backup in %s, "
	    "with its key" : "restored the backup in %s", dir);
	return 0;
}

static int
cmd_rekey(int argc, char **argv)
{
	struct rekey_opts	 o;
	const char		*knob;
	char			*end, err[1024];
	long			 v;
	int			 rc;

	memset(&o, 0, sizeof(o));
	o.wait = 300;
	o.stop_after = -1;
	if (argc == 2 && strcmp(argv[0], "--wait") == 0) {
		errno = 0;
		v = strtol(argv[1], &end, 10);
		if (*argv[1] == '\0' || *end != '\0' || errno != 0 || v < 0 ||
		    v > 86400)
			return fail("%s", "--wait takes a number of seconds "
			    "(0 to 86400)");
		o.wait = (unsigned int)v;
	} else if (argc != 0)
		return fail("%s", "usage: sosyabotctl rekey [--wait SECONDS]");
	/* A test knob (see the manual): stop as if interrupted. */
	if ((knob = getenv("SOSYABOT_REKEY_STOP_AFTER")) != NULL &&
	    *knob != '\0') {
		errno = 0;
		v = strtol(knob, &end, 10);
		if (*end != '\0' || errno != 0 || v < 0)
			return fail("%s", "SOSYABOT_REKEY_STOP_AFTER takes a "
			    "number");
		o.stop_after = v;
	}
	o.data_dir = cfg.data_dir;
	o.key_file = cfg.key_file;
	o.out = stdout;
	rc = rekey_run(&o, err, sizeof(err));
	if (rc == REKEY_FAIL)
		return fail("rekey: %s", err);
	if (rc == REKEY_DONE)
		audit_op("key.rekey", "%s", "moved every sealed value to a new "
		    "master key and retired the old one");
	return rc;
}

struct due {
	struct store		*st;
	const struct crypto_key	*key;
	size_t			 sent, posted;
};

static void
watchdog(int sig)
{
	static const char msg[] = "sosyabotctl: a delivery took too long; "
	    "stopped (it will show as unknown, never resent)\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

/* One due post: claim what is due, then send each claimed delivery. */
static int
send_due(const char *ws, const char *id, void *arg)
{
	struct due	*d = arg;
	struct post	 p;
	char		**claimed;
	const char	*res;
	size_t		 n, i;

	if (post_take_due(d->st, ws, id, time(NULL), &claimed, &n) != STORE_OK)
		return 0;
	if (n > 0 && post_get(d->st, NULL, ws, id, &p) == STORE_OK) {
		for (i = 0; i < n; i++) {
			/* Each call to X is bounded; a stuck one ends here. */
			alarm(90);
			res = outbox_send(d->st, &cfg, d->key, ws, id, claimed[i],
			    p.text, time(NULL));
			alarm(0);
			d->sent++;
			d->posted += res && strcmp(res, "posted") == 0;
		}
		post_free(&p);
	}
	for (i = 0; i < n; i++)
		free(claimed[i]);
	free(claimed);
	return 0;
}

static int
cmd_publish_due(int argc, char **argv)
{
	struct due		 d;
	struct crypto_key	*k;
	long			 max = 1000;
	int			 rc;

	if (argc == 2 && strcmp(argv[0], "--max") == 0)
		max = strtol(argv[1], NULL, 10);
	else if (argc != 0)
		return fail("%s", "usage: sosyabotctl publish-due [--max N]");
	if (max < 1)
		return fail("%s", "--max takes a positive number");
	if ((k = load_key()) == NULL)
		return 1;
	memset(&d, 0, sizeof(d));
	if ((d.st = open_store(0)) == NULL) {
		crypto_key_free(k);
		return 1;
	}
	d.key = k;
	signal(SIGALRM, watchdog);
	rc = post_each_due(d.st, time(NULL), (size_t)max, send_due, &d);
	/* The scheduler runs often: a good time for housekeeping. */
	{
		size_t	 purged;

		if (audit_purge(d.st, time(NULL), &purged) == STORE_OK &&
		    purged > 0)
			printf("%zu audit records older than %d days removed\n",
			    purged, AUDIT_KEEP_DAYS);
	}
	store_checkpoint(d.st);
	store_close(d.st);
	crypto_key_free(k);
	if (rc != STORE_OK)
		return fail("publish-due: %s", rc_text(rc));
	if (d.sent)
		printf("%zu sent, %zu posted\n", d.sent, d.posted);
	return 0;
}

struct audit_out {
	int	 json;
};

static int
print_audit(json_t *rec, void *arg)
{
	struct audit_out	*o = arg;
	char			*s;
	const char		*v[6];
	static const char	*keys[] = { "at", "who", "ws", "addr", "kind",
	    "what" };
	size_t			 i;

	if (o->json) {
		if ((s = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS)) != NULL) {
			printf("%s\n", s);
			free(s);
		}
		return 0;
	}
	for (i = 0; i < 6; i++) {
		v[i] = json_string_value(json_object_get(rec, keys[i]));
		if (v[i] == NULL)
			v[i] = "-";
	}
	printf("%s  %-12s %-10s %-15s %-22s %s\n", v[0], v[1], v[2], v[3], v[4],
	    v[5]);
	return 0;
}

static int
cmd_audit(int argc, char **argv)
{
	struct audit_filter	 f;
	struct audit_out	 o = { 0 };
	struct store		*st;
	long			 limit = 1000;
	char			*last;
	int			 i, rc;

	memset(&f, 0, sizeof(f));
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			o.json = 1;
		else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
			f.who = argv[++i];
		else if (strcmp(argv[i], "--workspace") == 0 && i + 1 < argc)
			f.ws = argv[++i];
		else if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc)
			f.kind = argv[++i];
		else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
			char	 day[32];

			snprintf(day, sizeof(day), "%.10sT00:00", argv[++i]);
			if ((f.from = tm_parse_local(day, NULL)) == -1)
				return fail("%s", "--since takes YYYY-MM-DD");
		} else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
			limit = strtol(argv[++i], NULL, 10);
		else
			return fail("%s", "usage: sosyabotctl audit [--json] "
			    "[--user U] [--workspace W] [--kind K] "
			    "[--since YYYY-MM-DD] [--limit N]");
	}
	if (limit < 1)
		return fail("%s", "--limit takes a positive number");
	if ((st = open_store(1)) == NULL)
		return 1;
	rc = audit_each(st, &f, NULL, (size_t)limit, print_audit, &o, &last);
	free(last);
	store_close(st);
	return rc == STORE_OK ? 0 : fail("audit: %s", rc_text(rc));
}

static const struct cmd cmds[] = {
	{ "init", NULL, "init", cmd_init },
	{ "user", "add", "user add NAME --workspace W [--admin] < password",
	    cmd_user_add },
	{ "user", "list", "user list", cmd_user_list },
	{ "user", "passwd", "user passwd NAME < password", cmd_user_passwd },
	{ "user", "del", "user del NAME", cmd_user_del },
	{ "workspace", "add", "workspace add NAME", cmd_ws_add },
	{ "workspace", "list", "workspace list", cmd_ws_list },
	{ "options", "get", "options get KEY", cmd_opt_get },
	{ "options", "set", "options set KEY VALUE|- (- reads it from stdin)", cmd_opt_set },
	{ "options", "unset", "options unset KEY", cmd_opt_unset },
	{ "verify", NULL, "verify", cmd_verify },
	{ "backup", NULL, "backup DIR [--with-key]", cmd_backup },
	{ "restore", NULL, "restore DIR [--with-key] [--force]", cmd_restore },
	{ "rekey", NULL, "rekey [--wait SECONDS]", cmd_rekey },
	{ "publish-due", NULL, "publish-due [--max N]", cmd_publish_due },
	{ "audit", NULL, "audit [--json] [--user U] [--workspace W] [--kind K] "
	    "[--since YYYY-MM-DD] [--limit N]", cmd_audit },
};

#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static int
usage(FILE *f, const char *group)
{
	size_t	 i;

	fprintf(f, "usage:\n");
	for (i = 0; i < NCMDS; i++)
		if (group == NULL || strcmp(group, cmds[i].group) == 0)
			fprintf(f, "  sosyabotctl %s\n", cmds[i].usage);
	fprintf(f, "The data directory is $SOSYABOT_DATA_DIR (default var); "
	    "see man sosyabotctl.\n");
	return f == stdout ? 0 : 2;
}

static int
is_help(const char *s)
{
	return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0 ||
	    strcmp(s, "help") == 0;
}

int
main(int argc, char *argv[])
{
	char	 err[256];
	size_t	 i;
	int	 rc, known_group = 0;

	if (argc < 2 || is_help(argv[1]))
		return usage(argc < 2 ? stderr : stdout, NULL);
	if (cfg_load(&cfg, err, sizeof(err)) != 0)
		return fail("%s", err);
	umask(077);
	for (i = 0; i < NCMDS; i++) {
		if (strcmp(argv[1], cmds[i].group) != 0)
			continue;
		known_group = 1;
		if (cmds[i].name == NULL) {
			if (argc > 2 && is_help(argv[2]))
				return usage(stdout, cmds[i].group);
			rc = cmds[i].fn(argc - 2, argv + 2);
		} else if (argc > 2 && strcmp(argv[2], cmds[i].name) == 0) {
			if (argc > 3 && is_help(argv[3]))
				return usage(stdout, cmds[i].group);
			rc = cmds[i].fn(argc - 3, argv + 3);
		} else
			continue;
		cfg_free(&cfg);
		return rc;
	}
	if (known_group && (argc == 2 || is_help(argv[2])))
		return usage(argc == 2 ? stderr : stdout, argv[1]);
	fprintf(stderr, "sosyabotctl: unknown command: %s\n", argv[1]);
	cfg_free(&cfg);
	return usage(stderr, NULL);
}
