/*
 * The text of an e-mail made fit for a case (pure: no GMime, no I/O;
 * tests/unit/test_ingest_mail_message.c, fuzz_mail_message): mail_message.c
 * gets UTF-8 out of GMime, and this file makes it what ingest's front door
 * accepts (valid UTF-8, no control characters but TAB and LF in free text,
 * none in a line, a limit in characters cut on a character boundary).
 *
 * GMime has no HTML-to-text conversion, and an HTML-only message (common
 * from phones and web forms) must still give the case its words. The
 * converter here is deliberately small: it drops tags, comments and the
 * contents of script/style/head, decodes character references, collapses
 * white space as a browser does and keeps line breaks at block elements.
 * It makes one pass over its input, never backtracks, and its output is
 * capped, so any input costs time linear in its length.
 */
#ifndef CHARTER_INGEST_MAIL_TEXT_H
#define CHARTER_INGEST_MAIL_TEXT_H

#include <stddef.h>

/*
 * Tidies s (NUL-terminated, any bytes) in place: invalid UTF-8 is repaired
 * (ch_contact_utf8_repair), CR LF and lone CR become LF, control characters
 * are removed (one_line: TAB, LF and the Unicode line separators become a
 * space, runs of spaces become one), trailing spaces are dropped from each
 * line, more than one blank line in a row becomes one, the whole is trimmed
 * and then cut to at most max_chars characters on a character boundary.
 * Returns the new length in bytes.
 */
size_t ingest_mail_text_tidy(char *s, int one_line, size_t max_chars);

/*
 * The text of html[0..len) (UTF-8): a malloc'd string (free()), not yet
 * tidied, of at most about 4 * max_chars + 8 bytes; NULL when out of memory.
 */
char *ingest_mail_html_text(const char *html, size_t len, size_t max_chars);

/*
 * Finds a case reference in s: PREFIX-YYYY-NNNNNN with PREFIX 2-10 capital
 * letters, four digits, then six or more digits (at most 24), standing as a
 * word of its own ("Re: [NCH-2026-004217] my bins"). 1 and ref filled (ref
 * of refsz bytes, 64 is enough), or 0.
 */
int ingest_mail_find_reference(const char *s, char *ref, size_t refsz);

#endif
