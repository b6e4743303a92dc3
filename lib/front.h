/*
 * front: a CGI built as a front serves page views itself and hands every
 * other request to the full program (see front.c).
 */
#ifndef SB_FRONT_H
#define SB_FRONT_H

/*
 * Defined only in a front's own object (cgi-bin/front.c): in every other
 * program its address is NULL.
 */
extern const char front_marker __attribute__((weak));

/* This program is a front. */
#define FRONT	(&front_marker != NULL)

/*
 * Run the full program of the same name, in the directory above the
 * front's, in place of this process: the environment and the unread
 * body are handed on as they are.  Returns only when that failed (said
 * on stderr).
 */
void	 front_handoff(void);

#endif
