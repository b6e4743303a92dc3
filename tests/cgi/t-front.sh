#!/usr/bin/env bash
# The fronts (cgi-bin/front/X.cgi, lib/front.c): each serves the page
# views as its full program does, without a dynamic loader where
# configure made it so, and hands every other request to the full
# program one directory up.
. "$(dirname "$0")/lib.sh"

FRONTS="login admin channels publish"
"$CTL" init
echo 'admin password 1' | "$CTL" user add admin --workspace default --admin

# configure links the fronts as static PIE unless it could not (a
# sanitizer build, no static archives): then they are checked as they are.
static=0
grep -q '^FRONT_LDFLAGS = -static-pie' "$top_builddir/Makefile" 2>/dev/null &&
	static=1

t_static() {
	local n
	for n in $FRONTS; do
		[ -x "$CGI/front/$n.cgi" ] || { echo "front/$n.cgi not built"; return 1; }
		if [ "$static" = 1 ] &&
		    readelf -lW "$CGI/front/$n.cgi" | grep -q 'INTERP\|Requesting'; then
			echo "front/$n.cgi asks for a dynamic loader"
			return 1
		fi
		if [ "$static" = 1 ] && readelf -d "$CGI/front/$n.cgi" | grep -q NEEDED; then
			echo "front/$n.cgi needs shared libraries:"
			readelf -d "$CGI/front/$n.cgi" | grep NEEDED
			return 1
		fi
	done
}
check "every front is built (static PIE: $static)" t_static

# Ours call dlopen() and getaddrinfo() through the front's refusals
# (cgi-bin/front.c): a front never loads a second C library.
t_wrapped() {
	local n
	for n in $FRONTS; do
		nm "$CGI/front/$n.cgi" | grep -q ' T __wrap_dlopen$' &&
		nm "$CGI/front/$n.cgi" | grep -q ' T __wrap_getaddrinfo$' ||
			{ echo "front/$n.cgi: no refusal of dlopen/getaddrinfo"; return 1; }
	done
}
check "fronts are linked with the dlopen and getaddrinfo refusals" t_wrapped

# The same page from the front and from the full program, byte for byte
# (the sign-in form's fresh token aside).
same_page() {	# same_page PROG URI
	cgi "$1" GET "$2"
	cp "$T/out" "$T/full.out"
	cgi "front/$1" GET "$2"
	cmp -s "$T/out" "$T/full.out" ||
		{ echo "$2: the front answered otherwise"; diff <(tr -d '\r' <"$T/full.out") <(tr -d '\r' <"$T/out") | head; return 1; }
}

t_signin() {
	# A sign-in needs libcrypto (PBKDF2), which the front refuses to
	# load: its success is the full program's work.
	local tok
	COOKIE= cgi front/login.cgi GET /login
	expect_status 200 || return 1
	tok=$(header Set-Cookie | sed -n 's/^login=\([^;]*\).*/\1/p')
	COOKIE="login=$tok" cgi front/login.cgi POST /login \
		"csrf=$tok&username=admin&password=admin+password+1"
	expect_status 303 || return 1
	COOKIE="sid=$(header Set-Cookie | sed -n 's/^sid=\([^;]*\).*/\1/p')"
	export COOKIE
	[ "$COOKIE" != "sid=" ]
}
check "a sign-in POSTed to the front is answered by the full program" t_signin

t_pages() {
	same_page admin.cgi /admin/api-integration/x-twitter &&
	same_page channels.cgi /app/channels &&
	same_page publish.cgi /app/publishing &&
	ACCEPT=application/json same_page channels.cgi /api/v1/channels &&
	ACCEPT=application/json same_page login.cgi /api/v1/session &&
	same_page publish.cgi /nothing-here
}
check "every page view from a front is the full program's, byte for byte" t_pages

t_head() {
	cgi front/publish.cgi HEAD /app/publishing
	expect_status 200 && [ ! -s "$T/body" ]
}
check "HEAD is served by the front, without a body" t_head

t_post_csrf() {
	# The full program's checks, in its order: a POST without the
	# session's token is refused as it always is.
	ORIGIN=$BASE_URL cgi front/publish.cgi POST /app/publishing "text=hi"
	expect_status 403 && expect_body 'The form has expired'
}
check "a POST without the CSRF token, through the front, is refused" t_post_csrf

t_no_full() {
	# A front whose full program is missing says so, in the log and
	# with a 500, and serves its page views all the same.
	mkdir -p "$T/alone/front"
	cp "$CGI/front/login.cgi" "$T/alone/front/"
	: >"$T/stderr"
	CGI=$T/alone cgi front/login.cgi POST /login "csrf=x&username=a&password=b"
	expect_status 500 && expect_body 'The service is not configured correctly.' &&
	grep -q 'front: cannot run the full program .*/alone/login.cgi: No such file' "$T/stderr" ||
		{ cat "$T/stderr"; return 1; }
	COOKIE= CGI=$T/alone cgi front/login.cgi GET /login
	expect_status 200
}
check "a front without its full program answers 500 and says why" t_no_full

finish
