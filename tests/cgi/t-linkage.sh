#!/usr/bin/env bash
# Pages that do not talk to X must not load libcurl or libcrypto at start:
# each costs millions of instructions per request (both are opened on
# demand instead).  Fails if a program starts linking either of them.
. "$(dirname "$0")/lib.sh"

needed() { readelf -d "$1" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'; }

for prog in "$CGI"/*.cgi "$CGI"/front/*.cgi "$CTL"; do
	t_lean() { ! needed "$prog" | grep -qE '^lib(curl|crypto|ssl)\.'; }
	check "$(basename "$prog") does not link libcurl or libcrypto" t_lean
done
finish
