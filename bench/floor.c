/*
 * floor.cgi: the least a CGI can do, headers and "ok".  What a page
 * costs beyond this (same exec, same server) is the program's own;
 * it links nothing but libc so that it stays the true floor.
 */
#include <stdio.h>

int
main(void)
{
	fputs("Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "\r\nok\n", stdout);
	return 0;
}
