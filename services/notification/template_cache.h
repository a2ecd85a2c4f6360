/*
 * Parsed templates kept between messages. Every template of
 * notify.template_dir is read and checked at start-up and on SIGHUP, all or
 * nothing (notify_tcache_load_dir); after that a file edited on disk changes
 * nothing until the next SIGHUP, so a broken or half-saved edit can neither
 * fail nor truncate a message, and SIGHUP refuses it with the old templates
 * kept (docs/configuration.md). A file that appeared after the last load
 * (the lookup found it, the cache has not got it) is read on first use.
 */
#ifndef NOTIFY_TEMPLATE_CACHE_H
#define NOTIFY_TEMPLATE_CACHE_H

#include <stddef.h>

#include "charter/template.h"

typedef struct notify_tcache notify_tcache;

/* NULL on ENOMEM. Free with notify_tcache_free. */
notify_tcache *notify_tcache_new(void);
void notify_tcache_free(notify_tcache *c); /* NULL-safe */
void notify_tcache_clear(notify_tcache *c);

/*
 * The template at `path`, parsed as ch_template_load_file does: the cached
 * one whatever the file now holds, else read now and kept. *out is borrowed: valid until the next
 * call for the same path, notify_tcache_clear or _free. Returns 0, or the
 * codes and errstr of ch_template_load_file (CH_EIO when the file cannot be
 * read); a file that fails is not cached. `*reads` (may be NULL) is
 * incremented when the file was read.
 */
int notify_tcache_get(notify_tcache *c, const char *path, const ch_template **out, int *reads,
                      char *errstr, size_t errstr_size);

/*
 * Loads every *.txt under dir/<organisation>/ once, so a broken template
 * stops start-up (and a SIGHUP reload) with its file and line rather than
 * failing a customer's message later. Returns 0, CH_EIO when dir cannot be
 * read, or the first file's error; CH_EINVAL when there is no template.
 */
int notify_tcache_check_dir(const char *dir, char *errstr, size_t errstr_size);

/* The same, keeping every template in c (which should be empty); on an
 * error c is left empty. */
int notify_tcache_load_dir(notify_tcache *c, const char *dir, char *errstr, size_t errstr_size);

/*
 * For an organisation whose charter promises a reference on every reply
 * (reference_on_reply): every customer template it can use under dir (its
 * own folder's, and the default ones its folder does not override; not the
 * staff_* alerts) carries {reference}. Returns 0, CH_EINVAL with a sentence
 * naming the file that lacks it, or a file's read or parse error.
 */
int notify_tcache_check_reference(const char *dir, const char *org, char *errstr,
                                  size_t errstr_size);

#endif
