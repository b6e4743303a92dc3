#!/usr/bin/env bash
# login.cgi and admin.cgi run directly: sign-in, the credentials page,
# saving, testing, and the refusals of bad requests.
. "$(dirname "$0")/lib.sh"

PAGE=/admin/api-integration/x-twitter
"$CTL" init
echo 'admin password 1' | "$CTL" user add admin --workspace default --admin
echo 'member password 1' | "$CTL" user add mia --workspace default

t_login_form() {
	cgi login.cgi GET /login
	expect_status 200 && expect_body 'name="csrf"' &&
	header Set-Cookie | grep -q '^login=.*HttpOnly; SameSite=Lax'
}
check "GET /login shows the form and sets its token" t_login_form

t_login_token() {
	COOKIE= cgi login.cgi GET /login
	COOKIE="login=$(header Set-Cookie | sed 's/^login=\([^;]*\).*/\1/')" \
		cgi login.cgi POST /login "csrf=wrongwrongwrongwrong&username=admin&password=admin+password+1"
	expect_status 403 && [ -z "$(header Set-Cookie)" ]
}
check "sign-in without the form's token is refused" t_login_token

t_login_wrong() {
	COOKIE= cgi login.cgi GET /login
	tok=$(header Set-Cookie | sed 's/^login=\([^;]*\).*/\1/')
	COOKIE="login=$tok" cgi login.cgi POST /login "csrf=$tok&username=admin&password=nope"
	expect_status 401 && expect_body 'Wrong user name or password'
}
check "a wrong password is 401 with a sentence" t_login_wrong

t_anon_redirect() {
	COOKIE= cgi admin.cgi GET $PAGE
	expect_status 302 &&
	[ "$(header Location)" = "$BASE_URL/login?next=%2Fadmin%2Fapi-integration%2Fx-twitter" ]
}
check "anonymous admin page goes to /login" t_anon_redirect

t_member_403() {
	sign_in mia 'member+password+1' || return 1
	cgi admin.cgi GET $PAGE
	expect_status 403
}
check "a member gets 403 on the admin page" t_member_403

t_admin_page() {
	sign_in admin 'admin+password+1' || return 1
	cgi admin.cgi GET /admin
	expect_status 200 && expect_body "X (Twitter)" || return 1
	cgi admin.cgi GET $PAGE
	expect_status 200 && expect_body 'not set' &&
	expect_body "$BASE_URL/api/v1/auth/twitter/callback" &&
	header Cache-Control | grep -q no-store
}
check "the admin sees the form with the callback URL" t_admin_page

t_test_unconfigured() {
	sign_in admin 'admin+password+1' || return 1
	cgi admin.cgi POST $PAGE "csrf=$CSRF&action=test"
	expect_status 200 &&
	expect_body 'Twitter integration disabled: client id/secret not configured'
}
check "Test with nothing configured says so" t_test_unconfigured

t_save_needs_csrf() {
	sign_in admin 'admin+password+1' || return 1
	cgi admin.cgi POST $PAGE "action=save&client_id=abcdef123&status=enable"
	expect_status 403 || return 1
	cgi admin.cgi POST $PAGE "csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&action=save&client_id=abcdef123"
	expect_status 403 || return 1
	! "$CTL" options get x-twitter_client-id
}
check "save without a valid CSRF token: 403, nothing saved" t_save_needs_csrf

t_save_foreign_origin() {
	sign_in admin 'admin+password+1' || return 1
	ORIGIN=https://evil.example cgi admin.cgi POST $PAGE "csrf=$CSRF&action=save&client_id=abcdef123"
	expect_status 403 || return 1
	FETCH_SITE=cross-site cgi admin.cgi POST $PAGE "csrf=$CSRF&action=save&client_id=abcdef123"
	expect_status 403 || return 1
	! "$CTL" options get x-twitter_client-id
}
check "save from another origin: 403, nothing saved" t_save_foreign_origin

t_save() {
	sign_in admin 'admin+password+1' || return 1
	ORIGIN=$BASE_URL FETCH_SITE=same-origin cgi admin.cgi POST $PAGE \
		"csrf=$CSRF&action=save&client_id=abcdef123456&client_secret=canary-secret-4242&status=enable"
	expect_status 303 && [ "$(header Location)" = "$BASE_URL$PAGE?n=saved" ] || return 1
	[ "$("$CTL" options get x-twitter_client-id)" = abcdef123456 ] &&
	[ "$("$CTL" options get x-twitter_client-secret)" = set ] || return 1
	cgi admin.cgi GET "$PAGE?n=saved"
	expect_body 'Saved.' && expect_body 'admin panel' &&
	expect_no_body canary-secret-4242
}
check "save stores the values; the page shows sources, never the secret" t_save

t_secret_not_plain() {
	! grep -rqa canary-secret-4242 "$SOSYABOT_DATA_DIR" "$T/stderr"
}
check "the secret's plaintext is in no data file and no log" t_secret_not_plain

t_empty_secret_keeps() {
	sign_in admin 'admin+password+1' || return 1
	cgi admin.cgi POST $PAGE "csrf=$CSRF&action=save&client_id=abcdef123456&client_secret=&status=enable"
	expect_status 303 && [ "$("$CTL" options get x-twitter_client-secret)" = set ]
}
check "an empty secret on save keeps the stored one" t_empty_secret_keeps

t_test_unreachable() {
	sign_in admin 'admin+password+1' || return 1
	X_API_BASE_URL=http://127.0.0.1:9 cgi admin.cgi POST $PAGE "csrf=$CSRF&action=test"
	expect_status 200 && expect_body 'Client ID begins with <code>abcdef</code>' &&
	expect_body "$BASE_URL/api/v1/auth/twitter/callback" &&
	expect_body 'Could not reach X' && expect_no_body 'rejected'
}
check "Test shows 6 characters and the callback; X unreachable is said" t_test_unreachable

t_disable() {
	sign_in admin 'admin+password+1' || return 1
	cgi admin.cgi POST $PAGE "csrf=$CSRF&action=save&status=disable"
	expect_status 303 || return 1
	[ "$("$CTL" options get x-twitter_client-id)" = abcdef123456 ] || return 1
	cgi admin.cgi POST $PAGE "csrf=$CSRF&action=test"
	expect_body 'X (Twitter) integration disabled by admin'
}
check "Disable: Test says disabled by admin; other values kept" t_disable

t_env_fallback() {
	sign_in admin 'admin+password+1' || return 1
	cgi admin.cgi POST $PAGE "csrf=$CSRF&action=save&client_id=&status=enable"
	cgi admin.cgi POST $PAGE "csrf=$CSRF&action=remove_secret"
	expect_status 303 || return 1
	! "$CTL" options get x-twitter_client-secret || return 1
	TWITTER_CLIENT_ID=envid987654 TWITTER_CLIENT_SECRET=envsecret \
		X_API_BASE_URL=http://127.0.0.1:9 cgi admin.cgi POST $PAGE "csrf=$CSRF&action=test"
	expect_body '<code>envid9</code>' || return 1
	TWITTER_CLIENT_ID=envid987654 cgi admin.cgi GET $PAGE
	expect_body '>ENV</strong>' && expect_body '>not set</strong>'
}
check "empty panel values fall back to ENV, with the source shown" t_env_fallback

t_bad_values() {
	sign_in admin 'admin+password+1' || return 1
	cgi admin.cgi POST $PAGE "csrf=$CSRF&action=save&client_id=has%20space"
	expect_status 400 && expect_body 'Nothing was saved' || return 1
	! "$CTL" options get x-twitter_client-id || return 1
	cgi admin.cgi POST $PAGE "csrf=$CSRF&action=save&status=maybe"
	expect_status 400 || return 1
	cgi admin.cgi POST $PAGE "csrf=$CSRF&action=explode"
	expect_status 400
}
check "invalid values are 400 and nothing is saved" t_bad_values

t_methods() {
	sign_in admin 'admin+password+1' || return 1
	cgi login.cgi GET /logout
	expect_status 405 || return 1
	cgi admin.cgi PUT $PAGE
	expect_status 405 || return 1
	cgi admin.cgi GET /admin/nothing-here
	expect_status 404
}
check "GET /logout and PUT are 405; unknown paths 404" t_methods

t_malformed() {
	sign_in admin 'admin+password+1' || return 1
	cgi admin.cgi POST $PAGE "csrf=$CSRF&action=save&client_id=%zz"
	expect_status 400 || return 1
	cgi admin.cgi GET "$PAGE?n=%"
	expect_status 400
}
check "malformed percent-encoding is 400" t_malformed

t_oversized() {
	sign_in admin 'admin+password+1' || return 1
	cgi admin.cgi POST $PAGE "csrf=$CSRF&action=save&client_id=$(head -c 70000 /dev/zero | tr '\0' a)"
	expect_status 413 && ! "$CTL" options get x-twitter_client-id
}
check "an oversized body is 413" t_oversized

t_header_injection() {
	COOKIE= cgi login.cgi GET /login
	tok=$(header Set-Cookie | sed 's/^login=\([^;]*\).*/\1/')
	COOKIE="login=$tok" cgi login.cgi POST /login \
		"csrf=$tok&username=admin&password=admin+password+1&next=/x%0d%0aSet-Cookie:+evil=1"
	expect_status 303 && ! grep -qi '^Set-Cookie: evil' "$T/head" &&
	[ "$(header Location)" = "$BASE_URL/app/channels" ]
}
check "CR/LF in a redirect target is neutralised" t_header_injection

t_logout() {
	sign_in admin 'admin+password+1' || return 1
	cgi login.cgi POST /logout "csrf=$CSRF"
	expect_status 303 || return 1
	cgi admin.cgi GET $PAGE
	expect_status 302
}
check "sign-out ends the session" t_logout

t_lockout() {
	local i tok
	echo 'locked password' | "$CTL" user add lou --workspace default
	COOKIE= cgi login.cgi GET /login
	tok=$(header Set-Cookie | sed 's/^login=\([^;]*\).*/\1/')
	for i in 1 2 3 4 5; do
		COOKIE="login=$tok" cgi login.cgi POST /login "csrf=$tok&username=lou&password=bad"
	done
	expect_status 429 && [ -n "$(header Retry-After)" ] || return 1
	COOKIE="login=$tok" cgi login.cgi POST /login "csrf=$tok&username=lou&password=locked+password"
	expect_status 429
}
check "five failures lock the account: 429 with Retry-After" t_lockout

t_ctl() {
	"$CTL" --help | grep -q 'user add' &&
	[ "$("$CTL" user list | grep -c .)" -ge 3 ] &&
	! "$CTL" options get no-such-key 2>/dev/null &&
	"$CTL" options set x-twitter_client-secret ctl-canary-77 &&
	[ "$("$CTL" options get x-twitter_client-secret)" = set ] &&
	! grep -rqa ctl-canary-77 "$SOSYABOT_DATA_DIR" &&
	"$CTL" verify >/dev/null
}
check "sosyabotctl seals the secret and verifies the store" t_ctl

finish
