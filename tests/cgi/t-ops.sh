#!/usr/bin/env bash
# sosyabotctl backup, restore and rekey on a store the programs wrote:
# a backup restored into a fresh data directory holds everything and
# verifies; the refusals (a non-empty backup directory, a store in use, a
# running server, an unfinished or damaged backup, a key that does not
# open it); rekey stopped half-way, killed half-way, kept waiting by an
# older process, and run again to the end, with every value opening
# before, during and after.
. "$(dirname "$0")/lib.sh"

OPS=$top_builddir/tests/cgi/opshelper
PAGE=/admin/api-integration/x-twitter
DATA=$SOSYABOT_DATA_DIR
KEY=$DATA/master.key
SECRET=ops-secret-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$CTL" init
echo 'admin password 1' | "$CTL" user add admin --workspace default --admin
echo 'member password 1' | "$CTL" user add mia --workspace acme

hexof() { od -An -tx1 "$1" | tr -d ' \n'; }
# The keys in the key file: 32 bytes is one, then 33 bytes a key more.
nkeys() {
	local n
	n=$(stat -c %s "$KEY")
	if [ "$n" = 32 ]; then echo 1; else echo $(((n - 40) / 33)); fi
}
# ctl with another data directory (and the first one's key, unless KF).
ctl_in() {
	local dir=$1
	shift
	SOSYABOT_DATA_DIR=$dir SOSYABOT_KEY_FILE=${KF:-$KEY} "$CTL" "$@"
}

# A process that keeps the store open until release_holder.
start_holder() {
	rm -f "$T/hold.in" "$T/hold.out"
	mkfifo "$T/hold.in"
	SOSYABOT_DATA_DIR=${1:-$DATA} "$OPS" hold <"$T/hold.in" >"$T/hold.out" &
	HOLDER=$!
	exec 7>"$T/hold.in"
	for _ in $(seq 100); do
		grep -q open "$T/hold.out" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "the holder did not open the store"
	return 1
}
release_holder() {
	exec 7>&-
	wait "$HOLDER" 2>/dev/null
	rm -f "$T/hold.in"
}

t_setup() {
	sign_in admin 'admin+password+1' || return 1
	cgi admin.cgi POST $PAGE "csrf=$CSRF&action=save&client_id=ops-client-0001&client_secret=$SECRET&status=enable"
	expect_status 303 || return 1
	"$OPS" channels 5 &&
	[ "$("$CTL" options get x-twitter_client-secret)" = set ] &&
	"$CTL" verify >/dev/null
}
check "a store with options, users and channels written by the programs" t_setup

t_backup() {
	"$CTL" backup "$T/b1" >"$T/b1.out" || { cat "$T/b1.out"; return 1; }
	cat "$T/b1.out"
	[ "$(stat -c %a "$T/b1")" = 700 ] &&
	head -1 "$T/b1/sosyabot-backup" | grep -qx 'sosyabot-backup 1' &&
	grep -qx 'key-ids 1' "$T/b1/sosyabot-backup" &&
	[ ! -e "$T/b1/master.key" ] &&
	grep -q "The master key is not in this backup. It is $KEY" "$T/b1.out" &&
	grep -q '^records: .*users 2' "$T/b1.out" &&
	! grep -rqa -- "$SECRET" "$T/b1" &&
	! ls "$T/b1" | grep -q -e '^__db' -e '^store.lock'
}
check "backup: a 0700 directory with a manifest, no key, no plaintext secret" t_backup

t_backup_refuses() {
	mkdir "$T/full" && : >"$T/full/notes.txt"
	! "$CTL" backup "$T/full" 2>"$T/err" &&
	grep -q 'is not empty' "$T/err" &&
	[ "$(ls -A "$T/full")" = notes.txt ] || return 1
	# An empty directory is fine, and gets tightened to 0700.
	mkdir -m 0755 "$T/empty" && "$CTL" backup "$T/empty" >/dev/null &&
	[ "$(stat -c %a "$T/empty")" = 700 ] && [ -f "$T/empty/sosyabot-backup" ]
}
check "backup refuses a non-empty directory and takes an empty one" t_backup_refuses

t_restore_fresh() {
	ctl_in "$T/fresh" restore "$T/b1" >"$T/r.out" || { cat "$T/r.out"; return 1; }
	grep -q 'is in place' "$T/r.out" &&
	[ "$(stat -c %a "$T/fresh")" = 700 ] &&
	ctl_in "$T/fresh" user list | grep -q '^mia	acme	member$' &&
	ctl_in "$T/fresh" user list | grep -q '^admin	default	admin$' &&
	[ "$(ctl_in "$T/fresh" options get x-twitter_client-id)" = ops-client-0001 ] &&
	[ "$(ctl_in "$T/fresh" options get x-twitter_client-secret)" = set ] &&
	ctl_in "$T/fresh" verify | grep -qx ok &&
	SOSYABOT_DATA_DIR=$T/fresh SOSYABOT_KEY_FILE=$KEY "$OPS" check-channels | grep -qx '5 of 5 channels open' &&
	! ls -A "$T/fresh" | grep -q -e '^previous-' -e '^\.restore-' || return 1
	# The programs use the restored store: sign in, see the saved ID.
	(
		export SOSYABOT_DATA_DIR=$T/fresh SOSYABOT_KEY_FILE=$KEY
		sign_in mia 'member+password+1' || exit 1
		sign_in admin 'admin+password+1' || exit 1
		cgi admin.cgi GET $PAGE
		expect_status 200 && expect_body ops-client-0001
	)
}
check "restore into a fresh data directory: everything there, verify ok" t_restore_fresh

t_restore_in_use() {
	start_holder || return 1
	! "$CTL" restore "$T/b1" 2>"$T/err" &&
	grep -q "have the store open (pid $HOLDER)\|has the store open (pid $HOLDER)" "$T/err" &&
	! ls -A "$DATA" | grep -q -e '^previous-' -e '^\.restore-'
	local rc=$?
	release_holder
	[ $rc = 0 ] || { cat "$T/err"; return 1; }
	# What service.sh's pid file says runs counts too, even when idle.
	mkdir -p "$DATA/run"
	bash -c 'exec -a httpd sleep 30' &
	local fake=$!
	echo $fake >"$DATA/run/httpd.pid"
	! "$CTL" restore "$T/b1" 2>"$T/err" &&
	grep -q "Apache runs (pid $fake" "$T/err" && grep -q 'service.sh stop' "$T/err"
	rc=$?
	kill $fake; wait $fake 2>/dev/null
	[ $rc = 0 ] || { cat "$T/err"; return 1; }
	# A dead server's pid file does not hold a restore up.
	"$CTL" restore "$T/b1" >"$T/r.out" || { cat "$T/r.out"; return 1; }
	ls -d "$DATA"/previous-* >/dev/null &&
	[ -f "$(ls -d "$DATA"/previous-* | head -1)/users.db" ] &&
	"$CTL" verify | grep -qx ok
}
check "restore refuses while a process has the store open or the server runs" t_restore_in_use

t_restore_refuses_bad() {
	mkdir "$T/nomanifest" && cp "$T/b1"/*.db "$T/nomanifest/" &&
	! "$CTL" restore "$T/nomanifest" 2>"$T/err" &&
	grep -q 'not a backup, or an unfinished one' "$T/err" || return 1
	cp -a "$T/b1" "$T/damaged" &&
	printf 'x' | dd of="$T/damaged/users.db" bs=1 seek=5000 conv=notrunc 2>/dev/null &&
	! "$CTL" restore "$T/damaged" 2>"$T/err" &&
	grep -q 'users.db: damaged' "$T/err" &&
	! ls -A "$DATA" | grep -q '^\.restore-' || return 1
	# Files root created would lock the server out of its own store.
	[ "$(id -u)" = 0 ] || return 0
	mkdir "$T/theirs" && chown 65534 "$T/theirs" &&
	! ctl_in "$T/theirs" restore "$T/b1" 2>"$T/err" &&
	grep -q 'belongs to uid 65534' "$T/err" && [ -z "$(ls -A "$T/theirs")" ]
}
check "restore refuses an unfinished or damaged backup or another user's directory" t_restore_refuses_bad

t_restore_wrong_key() {
	SOSYABOT_DATA_DIR=$T/other "$CTL" init &&
	! KF=$T/other/master.key ctl_in "$T/other" restore "$T/b1" 2>"$T/err" &&
	grep -q 'do not open with' "$T/err" && grep -q -- '--force' "$T/err" &&
	[ -z "$(KF=$T/other/master.key ctl_in "$T/other" user list)" ] &&
	! ls -A "$T/other" | grep -q -e '^previous-' -e '^\.restore-' ||
	    { cat "$T/err"; return 1; }
	# --force restores all but the secrets, which then do not open.
	KF=$T/other/master.key ctl_in "$T/other" restore --force "$T/b1" >"$T/r.out" &&
	grep -q -- '--force: 6 of the backup' "$T/r.out" &&
	KF=$T/other/master.key ctl_in "$T/other" user list | grep -q mia &&
	! KF=$T/other/master.key ctl_in "$T/other" verify >/dev/null 2>&1
}
check "restore refuses a backup the key file does not open (--force overrides)" t_restore_wrong_key

t_bundle() {
	"$CTL" backup --with-key "$T/b2" >"$T/b2.out" &&
	grep -q 'The master key is in this backup' "$T/b2.out" &&
	[ "$(stat -c %a "$T/b2/master.key")" = 600 ] &&
	cmp -s "$T/b2/master.key" "$KEY" &&
	grep -qx 'key master.key' "$T/b2/sosyabot-backup" || return 1
	# Without --with-key the restore says the bundle has the key.
	SOSYABOT_DATA_DIR=$T/third "$CTL" init &&
	! KF=$T/third/master.key ctl_in "$T/third" restore "$T/b2" 2>"$T/err" &&
	grep -q 'add --with-key' "$T/err" || { cat "$T/err"; return 1; }
	cp "$T/third/master.key" "$T/third.key.before"
	KF=$T/third/master.key ctl_in "$T/third" restore --with-key "$T/b2" >"$T/r.out" &&
	cmp -s "$T/third/master.key" "$KEY" &&
	[ "$(stat -c %a "$T/third/master.key")" = 600 ] &&
	cmp -s "$(ls -d "$T"/third/previous-* | head -1)/master.key" "$T/third.key.before" &&
	KF=$T/third/master.key ctl_in "$T/third" verify | grep -qx ok &&
	! "$CTL" restore --with-key "$T/b1" 2>"$T/err" && grep -q 'holds no key' "$T/err"
}
check "backup --with-key bundles the key; restore --with-key installs it" t_bundle

# --- rekey --------------------------------------------------------------
"$OPS" channels 200 >/dev/null
cp "$KEY" "$T/key1"
all_open() {
	"$CTL" verify | grep -qx ok &&
	"$OPS" check-channels | grep -qx '200 of 200 channels open' &&
	[ "$("$CTL" options get x-twitter_client-secret)" = set ]
}

t_rekey_stop() {
	all_open || return 1
	SOSYABOT_REKEY_STOP_AFTER=60 "$CTL" rekey >"$T/k.out"
	local rc=$?
	cat "$T/k.out"
	[ $rc = 3 ] && grep -q 'stopped after re-sealing 60 values' "$T/k.out" &&
	[ "$(nkeys)" = 2 ] && all_open || return 1
	# A secret saved by the admin page meanwhile is sealed with the new key.
	sign_in admin 'admin+password+1' || return 1
	cgi admin.cgi POST $PAGE "csrf=$CSRF&action=save&client_id=ops-client-0001&client_secret=$SECRET-2&status=enable"
	expect_status 303 && all_open
}
check "rekey stopped half-way: both keys in the file, every value opens" t_rekey_stop

t_rekey_resume() {
	local t0=$SECONDS
	"$CTL" rekey >"$T/k.out" || { cat "$T/k.out"; return 1; }
	cat "$T/k.out"
	echo "# rekey ran in $((SECONDS - t0)) s"
	grep -q 'resuming' "$T/k.out" && grep -q 'retired key 1' "$T/k.out" &&
	[ "$(nkeys)" = 1 ] && [ "$(stat -c %s "$KEY")" = 73 ] &&
	[ "$(stat -c %a "$KEY")" = 600 ] &&
	! hexof "$KEY" | grep -q "$(hexof "$T/key1")" &&
	[ ! -e "$KEY.tmp" ] && all_open
}
check "rekey run again finishes: the old key is gone from the file" t_rekey_resume

# Waits (4 s at most) until the rekey in the background has said PATTERN.
rekey_says() {
	for _ in $(seq 200); do
		grep -q "$1" "$T/k.out" && return
		sleep 0.02
	done
}

t_rekey_kill() {
	local pid
	cp "$KEY" "$T/key2"
	"$CTL" rekey >"$T/k.out" 2>&1 &
	pid=$!
	rekey_says 're-sealing'
	sleep 0.0$((RANDOM % 10))
	kill -9 $pid; wait $pid 2>/dev/null
	cat "$T/k.out"
	all_open || return 1
	"$CTL" rekey >"$T/k.out" || { cat "$T/k.out"; return 1; }
	[ "$(nkeys)" = 1 ] && ! hexof "$KEY" | grep -q "$(hexof "$T/key2" | cut -c 19-82)" &&
	all_open
}
check "rekey killed half-way (-9): every value opens; run again, it finishes" t_rekey_kill

t_rekey_waits() {
	start_holder || return 1
	local before rc
	before=$(hexof "$KEY")
	! "$CTL" rekey --wait 1 >"$T/k.out" 2>"$T/err"
	rc=$?
	cat "$T/k.out" "$T/err"
	[ $rc = 0 ] && grep -q "still uses the store (pid $HOLDER)" "$T/err" &&
	grep -q 'waiting up to 1 s' "$T/k.out" &&
	[ "$(nkeys)" = 2 ] && all_open || { release_holder; return 1; }
	# A second rotation while one runs is refused.
	# (7>&-: the holder's input must not stay open in it.)
	"$CTL" rekey --wait 60 >"$T/k2.out" 2>&1 7>&- &
	local first=$!
	sleep 0.5
	! "$CTL" rekey 2>"$T/err" && grep -q 'another rekey runs' "$T/err"
	rc=$?
	release_holder
	wait $first || { cat "$T/k2.out"; return 1; }
	[ $rc = 0 ] && grep -q 'retired key' "$T/k2.out" && [ "$(nkeys)" = 1 ] &&
	[ "$(hexof "$KEY")" != "$before" ] && all_open
}
check "rekey waits for a process older than the new key, and runs alone" t_rekey_waits

# While rekey waits (2 s at least after it added the key) another program
# opens the store: it must not take rekey for a crashed process and
# recover the environment under it.
t_rekey_alive() {
	local pid rc
	"$CTL" rekey >"$T/k.out" 2>&1 &
	pid=$!
	rekey_says 'added key'
	sleep 0.5
	"$CTL" options get x-twitter_client-id >/dev/null 2>"$T/err"
	wait $pid
	rc=$?
	cat "$T/k.out" "$T/err"
	[ $rc = 0 ] && ! grep -qiE 'panic|recover' "$T/k.out" "$T/err" && all_open
}
check "a program that opens the store while rekey runs does not recover it" t_rekey_alive

t_old_backup_after_rekey() {
	! SOSYABOT_DATA_DIR=$T/fourth "$CTL" restore "$T/b1" 2>"$T/err" &&
	grep -q 'under key 1' "$T/err" || { cat "$T/err"; return 1; }
	# With the key of its time it restores.
	KF=$T/key1 ctl_in "$T/fourth" restore "$T/b1" >/dev/null &&
	KF=$T/key1 ctl_in "$T/fourth" verify | grep -qx ok
}
check "a backup from before a rekey needs the key of its time" t_old_backup_after_rekey

t_help() {
	"$CTL" --help | grep -q 'backup DIR \[--with-key\]' &&
	"$CTL" --help | grep -q 'restore DIR' &&
	"$CTL" --help | grep -q 'rekey' &&
	! "$CTL" backup 2>/dev/null && ! "$CTL" restore 2>/dev/null &&
	! "$CTL" rekey --wait x 2>/dev/null
}
check "the usage names the three commands" t_help

finish
