/*
 * Message templates: what Charter says to customers and staff, in plain-text
 * files staff can edit (templates/README.md has the format and the layout).
 *
 *   templates/<organisation>/<kind>.<channel>.<language>.txt
 *   templates/default/<kind>.<channel>.<language>.txt
 *
 * An organisation's file overrides the default; channel "any" serves every
 * channel without its own file except email and SMS, which always have
 * their own. A file is text with {placeholders}; an email
 * template starts with a "Subject:" line and a blank line; a line holding
 * {?name} is left out when `name` has no value (a named contact only where
 * the charter promises one); "{{" and "}}" are literal braces; lines starting
 * with "#" are comments for the editor.
 *
 * Why the checks are where they are: a placeholder the renderer does not
 * know is refused when the file is read, naming the file, line and
 * placeholder, so a typo made by staff stops notification's start-up (it
 * reads every file in notify.template_dir) rather than reaching a customer.
 * A known placeholder with no value for this message is refused at
 * rendering with the same detail.
 *
 * Dates are written in words in the policy's time zone (tz.h, never the
 * process's TZ). How long a rendered text message is, as the network counts
 * it, is sms.h's question.
 *
 * Pure except ch_template_load_file() and ch_template_find(), which read and
 * look for files.
 */
#ifndef CHARTER_TEMPLATE_H
#define CHARTER_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ch_tz ch_tz;

/* A template as read. `subject` is NULL unless the template is an email's. */
typedef struct {
    char source[256]; /* the name used in errors (usually the path) */
    char *subject;    /* owned */
    int subject_line; /* 1-based line of "Subject:" in the source */
    char *body;       /* owned; starts at line body_line */
    int body_line;
} ch_template;

/* A placeholder's value for one message. A NULL or empty value is "no value". */
typedef struct {
    const char *name;
    const char *value;
} ch_template_var;

/*
 * Parses template text. `name` is used in errors, as in
 * "templates/default/acknowledgement.email.en.txt:3: unknown placeholder
 * {refrence}". With `want_subject` the first line that is not a comment must
 * be "Subject: ..." followed by a blank line; without it a "Subject:" line is
 * refused. On success returns 0 and fills *out (free with ch_template_free);
 * on failure CH_EINVAL or CH_ENOMEM with errstr set and *out zeroed.
 */
int ch_template_parse(const char *text, size_t len, const char *name, int want_subject,
                      ch_template *out, char *errstr, size_t errstr_size);

/* Reads `path` (at most 64 KiB) and parses it as above; a file named
 * "*.email.*" must have a subject. CH_EIO when it cannot be read. */
int ch_template_load_file(const char *path, ch_template *out, char *errstr, size_t errstr_size);

/*
 * Finds the file for a message under `dir`, first match wins:
 *   <org>/<kind>.<channel>.<lang>.txt, <org>/<kind>.any.<lang>.txt,
 *   default/<kind>.<channel>.<lang>.txt, default/<kind>.any.<lang>.txt,
 * then the same with the language's primary subtag ("cy-GB" -> "cy"), then with "en" (the
 * default templates' language). A language that is not a name of letters, digits, "_" and "-"
 * (e.g. "en GB") is looked up as "en": a message is never refused for its language. Email and
 * SMS never use an "any" file: an email needs a subject and an SMS is written to its length.
 * Writes the path to `path`. Returns 0, CH_ENOTFOUND (errstr names what was looked for) or
 * CH_EINVAL when the organisation, kind or channel holds anything but letters, digits, "_" and
 * "-".
 */
int ch_template_find(const char *dir, const char *org, const char *kind, const char *channel,
                     const char *lang, char *path, size_t pathsz, char *errstr, size_t errstr_size);

void ch_template_free(ch_template *t); /* NULL-safe; zeroes *t */

/* The placeholders templates may use, NULL-terminated (for errors and docs). */
const char *const *ch_template_placeholders(void);

/*
 * Renders `t` with `vars` (the last value given for a name wins). On success
 * returns 0 and sets *subject (NULL when the template has none) and *body to
 * strings the caller frees with free(). A placeholder with no value, outside
 * a line guarded by its own {?name}, fails with CH_EINVAL and errstr such as
 * "templates/x.txt:4: no value for {contact_name} in this message"; nothing is
 * returned then. Pure.
 */
int ch_template_render(const ch_template *t, const ch_template_var *vars, size_t nvars,
                       char **subject, char **body, char *errstr, size_t errstr_size);

/*
 * A list of sentences (a policy's visit_requirements) as one placeholder
 * value: a "- sentence" line each, or with `inline_` the sentences run on
 * with a space (a text message). Returns a string the caller frees with
 * free(), or NULL when n is 0 or memory ran out. Pure.
 */
char *ch_template_list(const char *const *items, size_t n, int inline_);

#define CH_TEMPLATE_DATE_BUFSZ 48

/* "Friday 2 January 2026": the local date of `utc_s` in `tz`. Pure. */
void ch_template_date_words(const ch_tz *tz, int64_t utc_s, char *buf, size_t bufsz);

/* "10:30am", "2pm", "midday", "midnight": the local time of `utc_s` in `tz`. */
void ch_template_time_words(const ch_tz *tz, int64_t utc_s, char *buf, size_t bufsz);

#endif
