/*
 * page: the HTML frame every page shares (head, the header bar with the
 * signed-in user, workspace and sign-out, notices) and small form parts.
 */
#ifndef SB_PAGE_H
#define SB_PAGE_H

#include "app.h"

enum notice { NOTICE_OK, NOTICE_ERROR, NOTICE_INFO };

void	 page_begin(struct ctx *, const char *title);
void	 page_end(struct ctx *);
void	 page_notice(struct ctx *, enum notice, const char *text);
/*
 * A whole page for a request that could not be done: a heading, the
 * sentence, and the way back to the channels.
 */
void	 page_problem(struct ctx *, int status, const char *title,
	    const char *text);
/* The hidden CSRF field of the signed-in session. */
void	 page_csrf(struct ctx *);

#endif
