/*
 * backup: hot backups of the store (sosyabotctl backup), putting one back
 * (sosyabotctl restore), and telling which processes use the store.
 *
 * A backup is a directory holding the database files and log files of
 * the environment, made consistent by catastrophic recovery and checked
 * (the store opens and Berkeley DB's verification passes), and a
 * manifest, "sosyabot-backup", written last: a directory without it is
 * an unfinished backup and restore refuses it.  The manifest names every
 * file with its size and SHA-256, and the ids of the master keys that
 * the backup's sealed values need.
 *
 * The master key is not in a backup unless asked for (with_key): the
 * sealed values in the backup open only with it, so the two are meant to
 * be kept apart.
 */
#ifndef SB_BACKUP_H
#define SB_BACKUP_H

#include <sys/types.h>

#include <stdio.h>

#define BACKUP_MANIFEST	"sosyabot-backup"
#define BACKUP_KEY	"master.key"	/* the key in a backup, with_key */

struct backup_opts {
	const char	*data_dir;
	const char	*key_file;
	int		 with_key;	/* backup: copy the key in; restore:
					   install the backup's key */
	int		 force;		/* restore: even when sealed values
					   would not open with the key */
	FILE		*out;		/* progress and results; NULL: none */
};

/*
 * Back up the store in o->data_dir into dir, which must not exist or be
 * empty; it is created mode 0700.  The store stays in use meanwhile.
 * Returns 0, or -1 with the reason in err (what was written to dir is
 * removed again).
 */
int	 backup_make(const struct backup_opts *, const char *dir, char *err,
	    size_t errlen);

/*
 * Put the backup in dir in place of the store in o->data_dir.  Refuses
 * while a process has the store open or the instance's server runs, and
 * when the backup's sealed values would not open with the key file (the
 * backup's own key with with_key) unless force.  The files it replaces
 * are moved to "<data_dir>/previous-<UTC time>/", never deleted.
 * Returns 0, or -1 with the reason in err (nothing was changed then,
 * except in the rare failure during the swap, which err describes).
 */
int	 backup_restore(const struct backup_opts *, const char *dir,
	    char *err, size_t errlen);

/*
 * The processes that have the environment in dir open, from libdb's
 * DB_REGISTER file: up to max pids in pids, their number in *n.  The
 * caller's own process is never counted.  Returns 0 (also when there is
 * no register file: nobody uses the store), -1 with errno set when the
 * file cannot be read.  Never while the caller has a store open: closing
 * any descriptor of a file drops all of the process's fcntl locks on it,
 * its own DB_REGISTER lock included, and the next opener would take it
 * for a crashed process and recover the environment under it.
 */
int	 backup_env_users(const char *dir, pid_t *pids, size_t max, size_t *n);

/*
 * 0 when dir (if it exists) belongs to the user running this: files a
 * command creates in the data directory take its owner, and the server
 * cannot use a store whose files root created.  -1 with the reason in
 * err otherwise.
 */
int	 backup_owner_check(const char *dir, char *err, size_t errlen);

/*
 * Whether the instance's server or worker runs, from the pid files that
 * service.sh keeps in "<dir>/run/": 1 with a description in what, else 0.
 */
int	 backup_service_runs(const char *dir, char *what, size_t len);

#endif
