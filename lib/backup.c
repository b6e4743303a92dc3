/*
 * backup: hot backups of the store and putting one back (see backup.h).
 *
 * A backup is libdb's documented hot backup (the database files copied
 * page by page in step with the cache, then every log file, with log
 * removal held off meanwhile), made consistent in place by catastrophic
 * recovery in a private environment, then opened and verified the way
 * the programs open the store.  Only then is the
 * manifest written, so that a backup cut short is never taken for one.
 *
 * A restore never writes into the live files.  It copies the backup into
 * a staging directory inside the data directory (same file system, so
 * the swap is renames), checks every checksum, recovers and verifies
 * there, checks that the sealed values open with the key they will be
 * used with, and only then, holding the store's open lock so that no
 * process can open the store half-way, moves the current files aside and
 * the new ones in.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <db.h>

#include "backup.h"
#include "buf.h"
#include "crypto.h"
#include "fdio.h"
#include "msg.h"
#include "rekey.h"
#include "sha256.h"
#include "store.h"
#include "tm.h"

#define REG_SLOT	25	/* libdb 5.3's DB_REGISTER: a line a process */
#define CACHE_BYTES	(4 * 1024 * 1024)
#define LOG_FILE_BYTES	(1024 * 1024)	/* as store.c */
#define LOCK_WAIT_MS	10000	/* for the open lock, held briefly by others */
#define COPY_BUF	65536
#define KEY_FILE_MAX	4096	/* far above any key file */
#define STAMP_LEN	17	/* "20261129T100000Z" + NUL */

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec	 t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)(t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static int
has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static int
has_suffix(const char *s, const char *x)
{
	size_t	 n = strlen(s), m = strlen(x);

	return n > m && strcmp(s + n - m, x) == 0;
}

/* The files of the environment: databases, logs, libdb's regions. */
static int
store_file(const char *name)
{
	return has_suffix(name, ".db") || has_prefix(name, "log.") ||
	    has_prefix(name, "__db.");
}

/* What opening a store leaves behind that a backup does not keep. */
static int
scratch_file(const char *name)
{
	return has_prefix(name, "__db.") || strcmp(name, "store.lock") == 0;
}

/* A file name as a manifest may carry it: one plain name in the dir. */
static int
plain_name(const char *s)
{
	size_t	 i;

	if (s[0] == '\0' || s[0] == '.' || strlen(s) > NAME_MAX)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] == '/' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* fsync a directory, so that names created or renamed in it last. */
static int
sync_dir(const char *dir)
{
	int	 fd, rc, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* The directory holding path (for syncing it); "." for a bare name. */
static void
parent_of(const char *path, struct buf *b)
{
	const char	*slash = strrchr(path, '/');

	buf_reset(b);
	if (slash == NULL)
		buf_adds(b, ".");
	else if (slash == path)
		buf_adds(b, "/");
	else
		buf_add(b, path, (size_t)(slash - path));
}

/*
 * The plain entries of dir, sorted, as a NUL-separated list in names
 * (so that manifests and moves are in a stable order).
 */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
list_dir(const char *dir, struct buf *names, size_t *n)
{
	DIR		*d;
	struct dirent	*e;
	struct buf	 raw = { 0 };
	char		**v = NULL;
	size_t		 i, off;
	int		 rc = -1;

	*n = 0;
	buf_reset(names);
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		buf_add(&raw, e->d_name, strlen(e->d_name) + 1);
		(*n)++;
	}
	closedir(d);
	if (!buf_ok(&raw) || (*n > 0 &&
	    (v = calloc(*n, sizeof(*v))) == NULL)) {
		errno = ENOMEM;
		goto out;
	}
	for (i = 0, off = 0; i < *n; i++, off += strlen(raw.p + off) + 1)
		v[i] = raw.p + off;
	if (*n > 0)	/* qsort's array may not be NULL, even empty */
		qsort(v, *n, sizeof(*v), cmp_str);
	for (i = 0; i < *n; i++)
		buf_add(names, v[i], strlen(v[i]) + 1);
	if (buf_ok(names))
		rc = 0;
	else
		errno = ENOMEM;
out:
	free(v);
	buf_free(&raw);
	return rc;
}

#define EACH_NAME(b, s) \
	for ((s) = (b)->p; (s) != NULL && (s) < (b)->p + (b)->len; \
	    (s) += strlen(s) + 1)

/*
 * Copy from to to (created, mode), with its SHA-256 and size when sum is
 * not NULL, and synced.  Returns 0, or -1 with a reason in err.
 */
static int
copy_file(const char *from, const char *to, mode_t mode,
    unsigned char sum[SHA256_LEN], off_t *size, char *err, size_t errlen)
{
	struct sha256	 h;
	char		*b = NULL;
	ssize_t		 r;
	off_t		 total = 0;
	int		 in, out = -1, rc = -1;

	if ((in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		msg_set(err, errlen, "%s: %s", from, strerror(errno));
		return -1;
	}
	if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) == -1) {
		msg_set(err, errlen, "%s: %s", to, strerror(errno));
		goto out;
	}
	if ((b = malloc(COPY_BUF)) == NULL) {
		msg_set(err, errlen, "out of memory");
		goto out;
	}
	sha256_init(&h);
	for (;;) {
		r = read(in, b, COPY_BUF);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			msg_set(err, errlen, "%s: %s", from, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		sha256_update(&h, b, (size_t)r);
		total += r;
		if (fd_write_all(out, b, (size_t)r) == -1) {
			msg_set(err, errlen, "%s: %s", to, strerror(errno));
			goto out;
		}
	}
	if (fchmod(out, mode) == -1 || fsync(out) == -1) {
		msg_set(err, errlen, "%s: %s", to, strerror(errno));
		goto out;
	}
	if (sum != NULL)
		sha256_final(&h, sum);
	if (size != NULL)
		*size = total;
	rc = 0;
out:
	if (b != NULL) {
		/* The key file goes through here too. */
		explicit_bzero(b, COPY_BUF);
		free(b);
	}
	if (out != -1 && close(out) == -1 && rc == 0) {
		msg_set(err, errlen, "%s: %s", to, strerror(errno));
		rc = -1;
	}
	if (rc == -1 && out != -1)
		unlink(to);
	close(in);
	return rc;
}

/* SHA-256 and size of path, which is also synced to disk. */
static int
hash_file(const char *path, unsigned char sum[SHA256_LEN], off_t *size)
{
	struct sha256	 h;
	char		 b[8192];
	ssize_t		 r;
	int		 fd, saved;

	*size = 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	sha256_init(&h);
	while ((r = read(fd, b, sizeof(b))) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto err;
		sha256_update(&h, b, (size_t)r);
		*size += r;
	}
	if (fsync(fd) == -1)
		goto err;
	sha256_final(&h, sum);
	close(fd);
	return 0;
err:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static void
hex(const unsigned char *p, size_t n, char *out)
{
	static const char	 d[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
stamp_now(char out[STAMP_LEN])
{
	time_t		 t = time(NULL);
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(out, STAMP_LEN, "%Y%m%dT%H%M%SZ", &tm);
}

/* libdb's messages from the private environments of this file. */
static void
errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	(void)env;
	(void)pfx;
	fprintf(stderr, "sosyabot: backup: %s\n", msg);
}

/*
 * Catastrophic recovery of the environment files in dir, in a private
 * environment (no region files left behind): every log file there is
 * replayed onto the databases, which makes copies taken while writers
 * ran consistent as of the end of the last log.  A checkpoint after it
 * lets the log files before it go.
 */
static int
recover_dir(const char *dir, char *err, size_t errlen)
{
	DB_ENV	*env;
	int	 ret;

	if ((ret = db_env_create(&env, 0)) != 0) {
		msg_set(err, errlen, "%s: %s", dir, db_strerror(ret));
		return -1;
	}
	env->set_errcall(env, errcall);
	if ((ret = env->set_cachesize(env, 0, CACHE_BYTES, 1)) != 0 ||
	    (ret = env->set_lg_max(env, LOG_FILE_BYTES)) != 0 ||
	    (ret = env->set_lg_filemode(env, 0600)) != 0 ||
	    (ret = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1)) != 0 ||
	    (ret = env->open(env, dir, DB_CREATE | DB_INIT_TXN |
	    DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL | DB_PRIVATE |
	    DB_RECOVER_FATAL, 0600)) != 0 ||
	    (ret = env->txn_checkpoint(env, 0, 0, DB_FORCE)) != 0) {
		(void)env->close(env, 0);
		msg_set(err, errlen, "%s: recovery: %s", dir, db_strerror(ret));
		return -1;
	}
	if ((ret = env->close(env, 0)) != 0) {
		msg_set(err, errlen, "%s: recovery: %s", dir, db_strerror(ret));
		return -1;
	}
	return 0;
}

/* Remove what opening a store left in dir (regions, locks). */
static void
remove_scratch(const char *dir)
{
	struct buf	 names = { 0 }, p = { 0 };
	const char	*name;
	size_t		 n;

	if (list_dir(dir, &names, &n) == 0)
		EACH_NAME(&names, name)
			if (scratch_file(name) && buf_path(&p, dir, name))
				(void)unlink(buf_str(&p));
	buf_free(&names);
	buf_free(&p);
}

/* Every plain file in dir removed; dir itself too when rmdir_too. */
static void
remove_files(const char *dir, int rmdir_too)
{
	struct buf	 names = { 0 }, p = { 0 };
	const char	*name;
	size_t		 n;

	if (list_dir(dir, &names, &n) == 0)
		EACH_NAME(&names, name)
			if (buf_path(&p, dir, name))
				(void)unlink(buf_str(&p));
	buf_free(&names);
	buf_free(&p);
	if (rmdir_too)
		(void)rmdir(dir);
}

struct counts {
	size_t	 n[STORE_NDB];
};

static int
count_one(const char *key, const char *val, size_t len, void *arg)
{
	(void)key;
	(void)val;
	(void)len;
	(*(size_t *)arg)++;
	return 0;
}

/*
 * Open the store in dir the programs' way and count its records and
 * sealed values (those that do not open with k, when k is not NULL).
 */
static int
survey(const char *dir, const struct crypto_key *k, struct counts *cn,
    struct rekey_census *c, char *err, size_t errlen)
{
	struct store	*st;
	int		 i, rc = STORE_OK;

	memset(cn, 0, sizeof(*cn));
	if (store_open(&st, dir, STORE_RDONLY) != STORE_OK) {
		msg_set(err, errlen, "%s: the store does not open", dir);
		return -1;
	}
	for (i = 0; i < STORE_NDB && rc == STORE_OK; i++)
		rc = store_scan(st, NULL, i, "", count_one, &cn->n[i]);
	if (rc == STORE_OK)
		rc = rekey_census(st, k, c, stderr);
	store_close(st);
	if (rc != STORE_OK) {
		msg_set(err, errlen, "%s: the store cannot be read", dir);
		return -1;
	}
	return 0;
}

/* "options 2, users 3": the databases that hold records. */
static void
counts_line(const struct counts *cn, char *out, size_t len)
{
	size_t	 off = 0;
	int	 i, r;

	out[0] = '\0';
	for (i = 0; i < STORE_NDB; i++) {
		if (cn->n[i] == 0)
			continue;
		r = snprintf(out + off, len - off, "%s%s %zu", off ? ", " : "",
		    store_db_name(i), cn->n[i]);
		if (r < 0 || (size_t)r >= len - off)
			break;
		off += (size_t)r;
	}
	if (off == 0)
		snprintf(out, len, "none");
}

/*
 * dir made ready for a backup: created (mode 0700), or an existing
 * empty directory, then tightened to 0700 (a backup holds password
 * hashes and sealed secrets).
 */
static int
empty_dir(const char *dir, int *created, char *err, size_t errlen)
{
	struct buf	 names = { 0 };
	size_t		 n;

	*created = 0;
	if (mkdir(dir, 0700) == 0) {
		*created = 1;
		return 0;
	}
	if (errno != EEXIST) {
		msg_set(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (list_dir(dir, &names, &n) == -1) {
		msg_set(err, errlen, "%s: %s", dir, strerror(errno));
		buf_free(&names);
		return -1;
	}
	buf_free(&names);
	if (n > 0) {
		msg_set(err, errlen, "%s is not empty: a backup goes into a new "
		    "or empty directory", dir);
		return -1;
	}
	if (chmod(dir, 0700) == -1) {
		msg_set(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The manifest, written last and atomically: its presence is what makes
 * dir a backup.  *nfiles and *bytes describe what it lists.
 */
static int
write_manifest(const char *dir, const struct rekey_census *c, int with_key,
    size_t *nfiles, off_t *bytes, char *err, size_t errlen)
{
	struct buf	 names = { 0 }, m = { 0 }, p = { 0 }, tmp = { 0 };
	const char	*name;
	unsigned char	 sum[SHA256_LEN];
	char		 sumhex[2 * SHA256_LEN + 1], at[TM_RFC3339_LEN];
	char		 ids[128];
	struct stat	 st;
	off_t		 size;
	size_t		 n;
	int		 fd = -1, rc = -1;

	*nfiles = 0;
	*bytes = 0;
	tm_rfc3339(time(NULL), at);
	rekey_ids(c, ids, sizeof(ids));
	buf_addf(&m, "sosyabot-backup 1\ncreated %s\nkey-ids %s\nkey %s\n",
	    at, ids[0] ? ids : "none", with_key ? BACKUP_KEY : "none");
	if (list_dir(dir, &names, &n) == -1) {
		msg_set(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	EACH_NAME(&names, name) {
		if (!buf_path(&p, dir, name)) {
			msg_set(err, errlen, "out of memory");
			goto out;
		}
		if (lstat(buf_str(&p), &st) == -1 || !S_ISREG(st.st_mode) ||
		    !plain_name(name)) {
			msg_set(err, errlen, "%s: not a plain file; a backup "
			    "holds nothing else", buf_str(&p));
			goto out;
		}
		if (hash_file(buf_str(&p), sum, &size) == -1) {
			msg_set(err, errlen, "%s: %s", buf_str(&p),
			    strerror(errno));
			goto out;
		}
		hex(sum, sizeof(sum), sumhex);
		buf_addf(&m, "file %s %lld %s\n", sumhex, (long long)size,
		    name);
		(*nfiles)++;
		*bytes += size;
	}
	if (!buf_path(&tmp, dir, "." BACKUP_MANIFEST ".tmp") ||
	    !buf_path(&p, dir, BACKUP_MANIFEST) || !buf_ok(&m)) {
		msg_set(err, errlen, "out of memory");
		goto out;
	}
	if ((fd = open(buf_str(&tmp), O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1 ||
	    fd_write_all(fd, m.p, m.len) == -1 || fsync(fd) == -1) {
		msg_set(err, errlen, "%s: %s", buf_str(&tmp), strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		msg_set(err, errlen, "%s: %s", buf_str(&tmp), strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(buf_str(&tmp), buf_str(&p)) == -1 || sync_dir(dir) == -1) {
		msg_set(err, errlen, "%s: %s", buf_str(&p), strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (rc == -1 && tmp.p != NULL)
		(void)unlink(buf_str(&tmp));
	buf_free(&names);
	buf_free(&m);
	buf_free(&p);
	buf_free(&tmp);
	return rc;
}

/* The key file copied into the backup, after checking that it loads. */
static int
copy_key_in(const char *key_file, const char *dir, char *err, size_t errlen)
{
	struct crypto_key	*k;
	struct buf		 p = { 0 };
	int			 rc;

	if (crypto_key_load(key_file, &k, err, errlen) != 0)
		return -1;
	crypto_key_free(k);
	if (!buf_path(&p, dir, BACKUP_KEY)) {
		msg_set(err, errlen, "out of memory");
		return -1;
	}
	rc = copy_file(key_file, buf_str(&p), 0600, NULL, NULL, err, errlen);
	buf_free(&p);
	return rc;
}

/*
 * The documented hot backup: log removal held off, a checkpoint, each
 * database file copied page by page in step with the cache
 * (DB_ENV->dbbackup), then every log file, so that the logs cover
 * whatever changed while the databases were copied.
 * Not DB_ENV->backup(), which does the same but tries to open every file
 * in the data directory as a database and gives up on the first it may
 * not read (under service.sh, the initial admin password is root's).
 */
static int
hot_copy(struct store *st, const char *data_dir, const char *dir, char *err,
    size_t errlen)
{
	DB_ENV		*env = store_env(st);
	struct buf	 names = { 0 }, from = { 0 }, to = { 0 };
	struct stat	 sb;
	const char	*name;
	char		**logs = NULL, **l;
	size_t		 n, dbs = 0;
	int		 ret, held = 0, rc = -1;

	if ((ret = env->set_flags(env, DB_HOTBACKUP_IN_PROGRESS, 1)) != 0) {
		msg_set(err, errlen, "hot backup of %s: %s", data_dir,
		    db_strerror(ret));
		goto out;
	}
	held = 1;
	/* Puts the cache's pages in the files: less log to copy and replay. */
	if ((ret = env->txn_checkpoint(env, 0, 0, DB_FORCE)) != 0) {
		msg_set(err, errlen, "hot backup of %s: checkpoint: %s", data_dir,
		    db_strerror(ret));
		goto out;
	}
	if (list_dir(data_dir, &names, &n) == -1) {
		msg_set(err, errlen, "%s: %s", data_dir, strerror(errno));
		goto out;
	}
	EACH_NAME(&names, name) {
		if (!has_suffix(name, ".db") || !buf_path(&from, data_dir, name) ||
		    lstat(buf_str(&from), &sb) == -1 || !S_ISREG(sb.st_mode))
			continue;
		if ((ret = env->dbbackup(env, name, dir, DB_EXCL)) != 0) {
			msg_set(err, errlen, "hot backup of %s: %s", name,
			    db_strerror(ret));
			goto out;
		}
		dbs++;
	}
	if (dbs == 0) {
		msg_set(err, errlen, "%s holds no database file", data_dir);
		goto out;
	}
	if ((ret = env->log_flush(env, NULL)) != 0 ||
	    (ret = env->log_archive(env, &logs, DB_ARCH_LOG)) != 0) {
		msg_set(err, errlen, "hot backup of the log files: %s",
		    db_strerror(ret));
		goto out;
	}
	for (l = logs; l != NULL && *l != NULL; l++) {
		if (!buf_path(&from, data_dir, *l) || !buf_path(&to, dir, *l)) {
			msg_set(err, errlen, "out of memory");
			goto out;
		}
		if (copy_file(buf_str(&from), buf_str(&to), 0600, NULL, NULL,
		    err, errlen) == -1)
			goto out;
	}
	rc = 0;
out:
	free(logs);
	if (held && (ret = env->set_flags(env, DB_HOTBACKUP_IN_PROGRESS,
	    0)) != 0 && rc == 0) {
		msg_set(err, errlen, "hot backup: %s", db_strerror(ret));
		rc = -1;
	}
	buf_free(&names);
	buf_free(&from);
	buf_free(&to);
	return rc;
}

int
backup_make(const struct backup_opts *o, const char *dir, char *err,
    size_t errlen)
{
	struct store		*st = NULL;
	struct rekey_census	 c;
	struct counts		 cn;
	struct timespec		 t0;
	struct stat		 sb;
	struct buf		 up = { 0 };
	char			 line[512], ids[128];
	size_t			 nfiles;
	off_t			 bytes;
	int			 created = 0, rc = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Opening would create an empty store where there is none. */
	if (stat(o->data_dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		msg_set(err, errlen, "%s: no data directory there", o->data_dir);
		return -1;
	}
	if (backup_owner_check(o->data_dir, err, errlen) == -1)
		return -1;
	if (empty_dir(dir, &created, err, errlen) == -1)
		return -1;

	/* Cleanup rule: from here, failures go to err, which empties dir. */
	if (store_open(&st, o->data_dir, STORE_RDONLY) != STORE_OK) {
		msg_set(err, errlen, "cannot open the store in %s",
		    o->data_dir);
		goto err;
	}
	if (hot_copy(st, o->data_dir, dir, err, errlen) == -1)
		goto err;
	store_close(st);
	st = NULL;

	if (recover_dir(dir, err, errlen) == -1)
		goto err;
	if (store_verify(dir, stderr) != STORE_OK) {
		msg_set(err, errlen, "the copy in %s does not verify (libdb's "
		    "findings above)", dir);
		goto err;
	}
	if (survey(dir, NULL, &cn, &c, err, errlen) == -1)
		goto err;
	remove_scratch(dir);
	if (o->with_key && copy_key_in(o->key_file, dir, err, errlen) == -1)
		goto err;
	if (write_manifest(dir, &c, o->with_key, &nfiles, &bytes, err,
	    errlen) == -1)
		goto err;
	if (created) {
		parent_of(dir, &up);
		if (buf_ok(&up))
			(void)sync_dir(buf_str(&up));
	}

	msg_line(o->out, "backup: %s: %zu files, %lld KiB, in %.2f s", dir,
	    nfiles + 1, ((long long)bytes + 1023) / 1024,
	    (double)elapsed_ms(&t0) / 1000);
	counts_line(&cn, line, sizeof(line));
	msg_line(o->out, "records: %s", line);
	rekey_ids(&c, ids, sizeof(ids));
	if (c.n > 0)
		msg_line(o->out, "sealed values: %zu, under key %s", c.n, ids);
	if (o->with_key)
		msg_line(o->out, "The master key is in this backup (%s/%s): "
		    "whoever can read the directory can open every secret in "
		    "it. Keep it as safe as the key file itself.", dir,
		    BACKUP_KEY);
	else
		msg_line(o->out, "The master key is not in this backup. It is "
		    "%s: keep a copy of it apart from the backups (another "
		    "machine, a password manager); the backup's secrets open "
		    "only with it.", o->key_file);
	rc = 0;
err:
	store_close(st);
	if (rc == -1)
		remove_files(dir, created);
	buf_free(&up);
	return rc;
}

/* A backup's manifest, as restore reads it. */
struct mfile {
	char		*name;
	long long	 size;
	unsigned char	 sum[SHA256_LEN];
};

struct manifest {
	struct mfile	*f;
	size_t		 n;
	int		 has_key;
	char		 created[32];
	char		 ids[128];
};

static void
manifest_free(struct manifest *m)
{
	size_t	 i;

	for (i = 0; i < m->n; i++)
		free(m->f[i].name);
	free(m->f);
	memset(m, 0, sizeof(*m));
}

static int
unhex(const char *h, unsigned char *out, size_t n)
{
	size_t		 i;
	unsigned int	 v;

	if (strlen(h) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

/* One "file <sha256> <size> <name>" line, in place (split at spaces). */
static int
manifest_file(struct manifest *m, char *rest)
{
	struct mfile	*grown;
	char		*sum, *size, *name, *end;
	long long	 sz;

	sum = rest;
	if ((size = strchr(sum, ' ')) == NULL)
		return -1;
	*size++ = '\0';
	if ((name = strchr(size, ' ')) == NULL)
		return -1;
	*name++ = '\0';
	errno = 0;
	sz = strtoll(size, &end, 10);
	if (*size == '\0' || *end != '\0' || errno != 0 || sz < 0 ||
	    !plain_name(name))
		return -1;
	if ((grown = realloc(m->f, (m->n + 1) * sizeof(*m->f))) == NULL)
		return -1;
	m->f = grown;
	memset(&m->f[m->n], 0, sizeof(m->f[0]));
	if (unhex(sum, m->f[m->n].sum, SHA256_LEN) == -1 ||
	    (m->f[m->n].name = strdup(name)) == NULL)
		return -1;
	m->f[m->n].size = sz;
	m->n++;
	return 0;
}

/* A short field of the manifest, cut to fit (it is only shown). */
static void
copy_field(char *dst, size_t len, const char *src)
{
	size_t	 n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int
read_manifest(const char *dir, struct manifest *m, char *err, size_t errlen)
{
	struct buf	 p = { 0 };
	FILE		*f;
	char		 line[1024];
	size_t		 len, lineno = 0;
	int		 rc = -1;

	memset(m, 0, sizeof(*m));
	if (!buf_path(&p, dir, BACKUP_MANIFEST)) {
		msg_set(err, errlen, "out of memory");
		return -1;
	}
	if ((f = fopen(buf_str(&p), "re")) == NULL) {
		if (errno == ENOENT)
			msg_set(err, errlen, "%s is not a backup, or an "
			    "unfinished one: it has no %s file", dir,
			    BACKUP_MANIFEST);
		else
			msg_set(err, errlen, "%s: %s", buf_str(&p),
			    strerror(errno));
		buf_free(&p);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		len = strlen(line);
		if (len == 0 || line[len - 1] != '\n')
			goto bad;
		line[len - 1] = '\0';
		if (lineno == 1) {
			if (strcmp(line, "sosyabot-backup 1") != 0)
				goto bad;
		} else if (has_prefix(line, "file ")) {
			if (manifest_file(m, line + 5) == -1)
				goto bad;
		} else if (has_prefix(line, "created "))
			copy_field(m->created, sizeof(m->created), line + 8);
		else if (has_prefix(line, "key-ids "))
			copy_field(m->ids, sizeof(m->ids), line + 8);
		else if (strcmp(line, "key " BACKUP_KEY) == 0)
			m->has_key = 1;
		/* Other lines: from a later version; nothing to check. */
	}
	if (ferror(f) || lineno == 0)
		goto bad;
	rc = 0;
	goto out;
bad:
	msg_set(err, errlen, "%s: damaged or of an unknown version (line %zu)",
	    buf_str(&p), lineno);
	manifest_free(m);
out:
	fclose(f);
	buf_free(&p);
	return rc;
}

/* Whether pid runs and its command line holds one of match[]. */
static int
proc_runs(pid_t pid, const char *const match[2])
{
	char		 path[64], b[4096], *p;
	ssize_t		 r, i;
	int		 fd;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 0;
	/* A zombie has finished; nobody may reap it in a container. */
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		r = read(fd, b, sizeof(b) - 1);
		close(fd);
		if (r > 0) {
			b[r] = '\0';
			if ((p = strrchr(b, ')')) != NULL &&
			    (p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X')))
				return 0;
		}
	}
	/* A pid used again by something else is not the service. */
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 1;	/* cannot tell: it may be */
	r = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (r <= 0)
		return 1;
	for (i = 0; i < r; i++)
		if (b[i] == '\0')
			b[i] = ' ';
	b[r] = '\0';
	return strstr(b, match[0]) != NULL ||
	    (match[1] != NULL && strstr(b, match[1]) != NULL);
}

int
backup_service_runs(const char *dir, char *what, size_t len)
{
	static const struct {
		const char	*file;
		const char	*match[2];
		const char	*what;
	} pf[] = {
		{ "run/httpd.pid", { "apache2", "httpd" }, "Apache" },
		{ "run/lighttpd.pid", { "lighttpd", NULL }, "lighttpd" },
		{ "run/worker.pid", { "publish-due", NULL },
		    "the publish-due worker" },
	};
	struct buf	 p = { 0 };
	char		 b[32], *end;
	size_t		 i;
	ssize_t		 r;
	long		 pid;
	int		 fd, found = 0;

	for (i = 0; i < sizeof(pf) / sizeof(pf[0]) && !found; i++) {
		if (!buf_path(&p, dir, pf[i].file) ||
		    (fd = open(buf_str(&p), O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		r = read(fd, b, sizeof(b) - 1);
		close(fd);
		if (r <= 0)
			continue;
		b[r] = '\0';
		errno = 0;
		pid = strtol(b, &end, 10);
		if (end == b || (*end != '\n' && *end != '\0') || errno != 0 ||
		    pid <= 1 || pid > INT_MAX)
			continue;
		if (proc_runs((pid_t)pid, pf[i].match)) {
			snprintf(what, len, "%s runs (pid %ld, from %s)",
			    pf[i].what, pid, buf_str(&p));
			found = 1;
		}
	}
	buf_free(&p);
	return found;
}

/* The holder of the lock on byte pos of the register, added to pids. */
static void
holder(int fd, off_t pos, pid_t *pids, size_t max, size_t *n)
{
	struct flock	 fl;
	size_t		 i;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = pos;
	fl.l_len = 1;
	if (fcntl(fd, F_GETLK, &fl) == -1 || fl.l_type == F_UNLCK)
		return;
	for (i = 0; i < *n && i < max; i++)
		if (pids[i] == fl.l_pid)
			return;
	if (*n < max)
		pids[*n] = fl.l_pid;
	(*n)++;
}

/*
 * libdb 5.3's DB_REGISTER file has a 25-byte line per process that has
 * the environment open, and that process holds an fcntl lock on the
 * first byte of its line for as long as it has it open; byte 1 is
 * locked by a process registering or recovering.  F_GETLK names the
 * holders (fcntl locks die with their process, so a crashed one is not
 * counted) and never reports the caller's own locks.
 */
int
backup_env_users(const char *dir, pid_t *pids, size_t max, size_t *n)
{
	struct buf	 p = { 0 };
	struct stat	 st;
	off_t		 pos;
	int		 fd, saved;

	*n = 0;
	if (!buf_path(&p, dir, "__db.register")) {
		errno = ENOMEM;
		return -1;
	}
	fd = open(buf_str(&p), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	saved = errno;
	buf_free(&p);
	if (fd == -1) {
		errno = saved;
		return errno == ENOENT ? 0 : -1;
	}
	if (fstat(fd, &st) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	holder(fd, 1, pids, max, n);
	for (pos = 0; pos < st.st_size; pos += REG_SLOT)
		holder(fd, pos, pids, max, n);
	close(fd);
	return 0;
}

int
backup_owner_check(const char *dir, char *err, size_t errlen)
{
	struct stat	 sb;

	if (stat(dir, &sb) == -1 || sb.st_uid == geteuid())
		return 0;
	msg_set(err, errlen, "%s belongs to uid %lu, not to this process's uid "
	    "%lu: run this as the server's user (./service.sh ctl does)", dir,
	    (unsigned long)sb.st_uid, (unsigned long)geteuid());
	return -1;
}

/* Why the store in dir may not be replaced now, in err; 0 when it may. */
static int
in_use(const char *dir, char *err, size_t errlen)
{
	pid_t	 pids[8];
	size_t	 n;
	char	 what[512];

	if (backup_service_runs(dir, what, sizeof(what))) {
		msg_set(err, errlen, "%s: stop the service first (./service.sh "
		    "stop), then restore", what);
		return 1;
	}
	if (backup_env_users(dir, pids, 8, &n) == -1) {
		msg_set(err, errlen, "%s/__db.register: %s", dir,
		    strerror(errno));
		return 1;
	}
	if (n > 0) {
		msg_set(err, errlen, "%zu process%s ha%s the store open (pid "
		    "%ld%s): stop the web server and the publish-due job "
		    "first, then restore", n, n == 1 ? "" : "es",
		    n == 1 ? "s" : "ve", (long)pids[0],
		    n > 1 ? " and others" : "");
		return 1;
	}
	return 0;
}

/*
 * The store's open lock, taken exclusively: every process opens the
 * environment under it (store.c), so while it is held none can open the
 * store.  Others hold it only for an open or close, hence the short
 * wait.
 */
static int
lock_store(const char *dir, char *err, size_t errlen)
{
	struct buf	 p = { 0 };
	struct timespec	 t0, ts = { 0, 20 * 1000000L };
	int		 fd;

	if (!buf_path(&p, dir, "store.lock")) {
		msg_set(err, errlen, "out of memory");
		return -1;
	}
	if ((fd = open(buf_str(&p), O_RDWR | O_CREAT | O_CLOEXEC,
	    0600)) == -1) {
		msg_set(err, errlen, "%s: %s", buf_str(&p), strerror(errno));
		buf_free(&p);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    elapsed_ms(&t0) >= LOCK_WAIT_MS) {
			msg_set(err, errlen, "%s: %s", buf_str(&p),
			    errno == EWOULDBLOCK ? "other processes keep "
			    "opening the store; stop the service first" :
			    strerror(errno));
			close(fd);
			buf_free(&p);
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	buf_free(&p);
	return fd;
}

/*
 * Install the key at src as the key file dst: a copy beside dst, synced,
 * renamed over it, and the directory synced, as crypto_key_save does.
 */
static int
install_key(const char *src, const char *dst, char *err, size_t errlen)
{
	struct buf	 tmp = { 0 }, up = { 0 };
	int		 rc = -1;

	buf_addf(&tmp, "%s.tmp", dst);
	parent_of(dst, &up);
	if (!buf_ok(&tmp) || !buf_ok(&up)) {
		msg_set(err, errlen, "out of memory");
		goto out;
	}
	(void)unlink(buf_str(&tmp));
	if (copy_file(src, buf_str(&tmp), 0600, NULL, NULL, err,
	    errlen) == -1)
		goto out;
	if (rename(buf_str(&tmp), dst) == -1 || sync_dir(buf_str(&up)) == -1) {
		msg_set(err, errlen, "%s: %s", dst, strerror(errno));
		(void)unlink(buf_str(&tmp));
		goto out;
	}
	rc = 0;
out:
	buf_free(&tmp);
	buf_free(&up);
	return rc;
}

/*
 * Copy the backup's files into the staging directory, each checked
 * against the manifest; the key too with with_key.
 */
static int
stage_copy(const struct backup_opts *o, const char *dir,
    const struct manifest *m, const char *stage, char *err, size_t errlen)
{
	struct buf	 from = { 0 }, to = { 0 };
	unsigned char	 sum[SHA256_LEN];
	off_t		 size;
	size_t		 i, dbs = 0;
	int		 rc = -1;

	for (i = 0; i < m->n; i++) {
		if (!store_file(m->f[i].name) && !(o->with_key &&
		    strcmp(m->f[i].name, BACKUP_KEY) == 0))
			continue;
		if (!buf_path(&from, dir, m->f[i].name) ||
		    !buf_path(&to, stage, m->f[i].name)) {
			msg_set(err, errlen, "out of memory");
			goto out;
		}
		if (copy_file(buf_str(&from), buf_str(&to), 0600, sum, &size,
		    err, errlen) == -1)
			goto out;
		if (size != m->f[i].size ||
		    memcmp(sum, m->f[i].sum, SHA256_LEN) != 0) {
			msg_set(err, errlen, "%s: damaged: it differs from the "
			    "backup's manifest", buf_str(&from));
			goto out;
		}
		dbs += has_suffix(m->f[i].name, ".db");
	}
	if (dbs == 0) {
		msg_set(err, errlen, "%s holds no database file", dir);
		goto out;
	}
	rc = 0;
out:
	buf_free(&from);
	buf_free(&to);
	return rc;
}

/*
 * Whether the staged store's sealed values open with the key they will
 * be used with: the backup's own (with_key) or the key file.  Refuses
 * (unless force) when some do not.
 */
static int
check_key(const struct backup_opts *o, const char *stage,
    const struct manifest *m, struct counts *cn, char *err, size_t errlen)
{
	struct crypto_key	*k = NULL;
	struct rekey_census	 c;
	struct buf		 kp = { 0 };
	const char		*path = o->key_file;
	char			 kerr[256], have[128];
	size_t			 i, off = 0;
	int			 r, rc = -1;

	if (o->with_key) {
		if (!buf_path(&kp, stage, BACKUP_KEY)) {
			msg_set(err, errlen, "out of memory");
			return -1;
		}
		path = buf_str(&kp);
	}
	kerr[0] = '\0';
	if (crypto_key_load(path, &k, kerr, sizeof(kerr)) != 0)
		k = NULL;
	if (survey(stage, k, cn, &c, err, errlen) == -1)
		goto out;
	if (c.n == 0 || (k != NULL && c.bad == 0)) {
		rc = 0;
		goto out;
	}
	have[0] = '\0';
	for (i = 0; k != NULL && i < crypto_key_count(k); i++) {
		r = snprintf(have + off, sizeof(have) - off, "%s%u",
		    off ? ", " : "", crypto_key_id(k, i));
		if (r < 0 || (size_t)r >= sizeof(have) - off)
			break;
		off += (size_t)r;
	}
	if (o->force) {
		msg_line(o->out, "restore: --force: %zu of the backup's %zu "
		    "sealed values will not open; save the client secret again "
		    "and reconnect those channels", k ? c.bad : c.n, c.n);
		rc = 0;
		goto out;
	}
	if (k == NULL)
		msg_set(err, errlen, "the backup holds %zu sealed values (under "
		    "key %s) and the key file cannot be used: %s. %s", c.n,
		    m->ids[0] ? m->ids : "?", kerr, m->has_key && !o->with_key ?
		    "This backup holds its key: add --with-key." :
		    "Put the key file of when the backup was made in place "
		    "(or add --force to restore without the secrets).");
	else
		msg_set(err, errlen, "%zu of the backup's %zu sealed values "
		    "(under key %s) do not open with %s, which holds key %s. "
		    "%s", c.bad, c.n, m->ids[0] ? m->ids : "?", path, have,
		    m->has_key && !o->with_key ? "This backup holds its key: "
		    "add --with-key to restore with it." : "Put the key file "
		    "of when the backup was made in place (or add --force to "
		    "restore without the secrets).");
out:
	crypto_key_free(k);
	buf_free(&kp);
	return rc;
}

/*
 * Move the store files of from (all, or the staged ones) into to.
 * *moved counts them.  0, or -1 with errno set.
 */
static int
move_store_files(const char *from, const char *to, size_t *moved)
{
	struct buf	 names = { 0 }, a = { 0 }, b = { 0 };
	const char	*name;
	struct stat	 st;
	size_t		 n;
	int		 rc = -1, saved;

	*moved = 0;
	if (list_dir(from, &names, &n) == -1)
		goto out;
	EACH_NAME(&names, name) {
		if (!store_file(name))
			continue;
		if (!buf_path(&a, from, name) || !buf_path(&b, to, name)) {
			errno = ENOMEM;
			goto out;
		}
		if (lstat(buf_str(&a), &st) == -1)
			goto out;
		if (!S_ISREG(st.st_mode))
			continue;
		if (rename(buf_str(&a), buf_str(&b)) == -1)
			goto out;
		(*moved)++;
	}
	rc = 0;
out:
	saved = errno;
	buf_free(&names);
	buf_free(&a);
	buf_free(&b);
	errno = saved;
	return rc;
}

/* "<data_dir>/previous-<stamp>", created; a suffix when it exists. */
static int
make_previous(const char *data_dir, const char *stamp, struct buf *prev)
{
	int	 i;

	for (i = 1; i < 100; i++) {
		buf_reset(prev);
		if (i == 1)
			buf_addf(prev, "%s/previous-%s", data_dir, stamp);
		else
			buf_addf(prev, "%s/previous-%s-%d", data_dir, stamp, i);
		if (!buf_ok(prev)) {
			errno = ENOMEM;
			return -1;
		}
		if (mkdir(buf_str(prev), 0700) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/*
 * The swap, under the store's open lock: the current store files (and
 * key, with with_key) to prev, the staged ones in.  -1: nothing was
 * changed; -2: stopped half-way (err says where the files are).
 */
static int
swap_in(const struct backup_opts *o, const char *stage, const char *stamp,
    struct buf *prev, size_t *aside, char *err, size_t errlen)
{
	struct buf	 kp = { 0 }, old = { 0 };
	struct stat	 st;
	const char	*base;
	size_t		 in;
	int		 rc;

	if (make_previous(o->data_dir, stamp, prev) == -1) {
		msg_set(err, errlen, "%s: %s", o->data_dir, strerror(errno));
		return -1;
	}
	/* From here, a failure leaves some files moved. */
	rc = -2;
	if (move_store_files(o->data_dir, buf_str(prev), aside) == -1) {
		msg_set(err, errlen, "moving the current files to %s: %s; "
		    "restore stopped half-way: the backup's files are in %s, "
		    "move the ones in %s back or run restore again",
		    buf_str(prev), strerror(errno), stage, buf_str(prev));
		goto out;
	}
	if (o->with_key) {
		base = strrchr(o->key_file, '/');
		base = base ? base + 1 : o->key_file;
		if (!buf_path(&kp, stage, BACKUP_KEY) ||
		    !buf_path(&old, buf_str(prev), base)) {
			msg_set(err, errlen, "out of memory");
			goto out;
		}
		if (lstat(o->key_file, &st) == 0) {
			if (copy_file(o->key_file, buf_str(&old), 0600, NULL,
			    NULL, err, errlen) == -1)
				goto out;
			(*aside)++;
		}
		if (install_key(buf_str(&kp), o->key_file, err, errlen) == -1)
			goto out;
	}
	if (move_store_files(stage, o->data_dir, &in) == -1) {
		msg_set(err, errlen, "moving the backup's files in from %s: %s; "
		    "restore stopped half-way: the previous files are in %s, "
		    "run restore again", stage, strerror(errno),
		    buf_str(prev));
		goto out;
	}
	if (sync_dir(o->data_dir) == -1 || sync_dir(buf_str(prev)) == -1) {
		msg_set(err, errlen, "%s: %s", o->data_dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	buf_free(&kp);
	buf_free(&old);
	return rc;
}

int
backup_restore(const struct backup_opts *o, const char *dir, char *err,
    size_t errlen)
{
	struct manifest	 m;
	struct counts	 cn;
	struct timespec	 t0;
	struct buf	 stage = { 0 }, prev = { 0 };
	char		 stamp[STAMP_LEN], line[512];
	size_t		 aside = 0;
	int		 lockfd = -1, staged = 0, r, rc = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (backup_owner_check(o->data_dir, err, errlen) == -1 ||
	    read_manifest(dir, &m, err, errlen) == -1)
		return -1;
	if (o->with_key && !m.has_key) {
		msg_set(err, errlen, "%s holds no key: it was made without "
		    "--with-key", dir);
		goto out;
	}
	if (mkdir(o->data_dir, 0700) == -1 && errno != EEXIST) {
		msg_set(err, errlen, "%s: %s", o->data_dir, strerror(errno));
		goto out;
	}
	/* Early, before the copying; checked again under the lock. */
	if (in_use(o->data_dir, err, errlen))
		goto out;

	stamp_now(stamp);
	buf_addf(&stage, "%s/.restore-%s-%ld", o->data_dir, stamp,
	    (long)getpid());
	if (!buf_ok(&stage)) {
		msg_set(err, errlen, "out of memory");
		goto out;
	}
	if (mkdir(buf_str(&stage), 0700) == -1) {
		msg_set(err, errlen, "%s: %s", buf_str(&stage), strerror(errno));
		goto out;
	}
	/* Cleanup rule: from here, out removes the staging directory. */
	staged = 1;
	if (stage_copy(o, dir, &m, buf_str(&stage), err, errlen) == -1 ||
	    recover_dir(buf_str(&stage), err, errlen) == -1)
		goto out;
	if (store_verify(buf_str(&stage), stderr) != STORE_OK) {
		msg_set(err, errlen, "the backup's databases do not verify "
		    "(libdb's findings above)");
		goto out;
	}
	if (check_key(o, buf_str(&stage), &m, &cn, err, errlen) == -1)
		goto out;
	remove_scratch(buf_str(&stage));

	if ((lockfd = lock_store(o->data_dir, err, errlen)) == -1 ||
	    in_use(o->data_dir, err, errlen))
		goto out;
	if ((r = swap_in(o, buf_str(&stage), stamp, &prev, &aside, err,
	    errlen)) != 0) {
		/* Half-way: keep both sets of files for the admin. */
		if (r == -2)
			staged = 0;
		goto out;
	}
	close(lockfd);
	lockfd = -1;
	remove_files(buf_str(&stage), 1);
	staged = 0;
	if (aside == 0)
		(void)rmdir(buf_str(&prev));

	/* The first open runs recovery; then libdb's verification. */
	if (store_verify(o->data_dir, stderr) != STORE_OK) {
		msg_set(err, errlen, "the backup is in place, but the store does "
		    "not verify now (libdb's findings above)%s%s",
		    aside ? "; the previous files are in " : "",
		    aside ? buf_str(&prev) : "");
		goto out;
	}
	msg_line(o->out, "restore: %s (made %s) is in place in %s, in %.2f s",
	    dir, m.created[0] ? m.created : "?", o->data_dir,
	    (double)elapsed_ms(&t0) / 1000);
	counts_line(&cn, line, sizeof(line));
	msg_line(o->out, "records: %s", line);
	if (o->with_key)
		msg_line(o->out, "The backup's key is now %s.", o->key_file);
	if (aside)
		msg_line(o->out, "The files it replaced are in %s; remove "
		    "them once you are satisfied.", buf_str(&prev));
	rc = 0;
out:
	if (lockfd != -1)
		close(lockfd);
	if (staged)
		remove_files(buf_str(&stage), 1);
	manifest_free(&m);
	buf_free(&stage);
	buf_free(&prev);
	return rc;
}
