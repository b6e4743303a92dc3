#include <string.h>

#include "page.h"

/* A link of the main menu, marked current when the page is under it. */
static void
nav_link(struct ctx *c, const char *path, const char *label)
{
	const char	*p = c->req.path ? c->req.path : "";

	if (strncmp(p, path, strlen(path)) == 0)
		out_html(&c->out, "<a href=\"%s%s\" aria-current=\"page\">%s</a>",
		    c->cfg.base_path, path, label);
	else
		out_html(&c->out, "<a href=\"%s%s\">%s</a>", c->cfg.base_path,
		    path, label);
}

void
page_begin(struct ctx *c, const char *title)
{
	const char	*bp = c->cfg.base_path;

	out_html(&c->out, "<!doctype html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n"
	    "<title>%s · Sosyabot</title>\n"
	    "<link rel=\"stylesheet\" href=\"%s/static/app.css\">\n"
	    "<script src=\"%s/static/app.js\" defer></script>\n"
	    "</head>\n<body>\n<header class=\"bar\"><div class=\"bar-in\">"
	    "<a class=\"brand\" href=\"%s/\">Sosyabot</a>\n", title, bp, bp, bp);
	if (c->signed_in) {
		out_html(&c->out, "<nav aria-label=\"Main\">");
		nav_link(c, "/app/channels", "Channels");
		nav_link(c, "/app/publishing", "Publishing");
		if (c->user.role == ROLE_ADMIN)
			nav_link(c, "/admin", "Admin");
		out_html(&c->out, "</nav>\n<div class=\"who\">"
		    "<span class=\"user\">%s</span>"
		    "<span class=\"ws\" title=\"Workspace\">%s</span>"
		    "<form method=\"post\" action=\"%s/logout\">"
		    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
		    "<button type=\"submit\" class=\"link\">Sign out</button>"
		    "</form></div>\n", c->user.name, c->user.workspace, bp,
		    c->csrf);
	}
	out_html(&c->out, "</div></header>\n<main>\n");
}

void
page_end(struct ctx *c)
{
	out_html(&c->out, "</main>\n<footer><p>Sosyabot for X</p></footer>\n"
	    "</body></html>\n");
}

void
page_notice(struct ctx *c, enum notice kind, const char *text)
{
	static const char *cls[] = { "ok", "error", "info" };

	out_html(&c->out, "<div class=\"notice notice-%s\" role=\"%s\">"
	    "<p>%s</p></div>\n", cls[kind],
	    kind == NOTICE_ERROR ? "alert" : "status", text);
}

void
page_csrf(struct ctx *c)
{
	out_html(&c->out, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">",
	    c->csrf);
}

void
page_problem(struct ctx *c, int status, const char *title, const char *text)
{
	out_status(&c->out, status);
	page_begin(c, title);
	out_html(&c->out, "<h1>%s</h1>\n", title);
	page_notice(c, NOTICE_ERROR, text);
	out_html(&c->out, "<p><a class=\"button secondary\" "
	    "href=\"%s/app/channels\">Back to channels</a></p>\n",
	    c->cfg.base_path);
	page_end(c);
}
