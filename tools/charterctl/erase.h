/*
 * `charterctl erase`'s two halves: cmd_erase.c finds a person's cases and
 * erases what Redis holds; cmd_erase_files.c rewrites the file outbox and
 * the print queue without them. What they share: the person, as the cases
 * found and every identifier seen for them.
 */
#ifndef CHARTERCTL_ERASE_H
#define CHARTERCTL_ERASE_H

#include <stddef.h>

#define ERASE_MAX 256 /* cases, and identifiers of each kind */

typedef struct {
    char *items[ERASE_MAX];
    size_t n;
} erase_list;

typedef struct {
    erase_list cases;      /* case ids */
    erase_list references; /* their references */
    erase_list emails;     /* lower-cased */
    erase_list phones;     /* E.164 */
} erase_person;

/* Adds a copy of s (ignored when empty or already there; lower-cased if
 * lower). 0, or -1 when the list is full or memory ran out. */
int erase_list_add(erase_list *l, const char *s, int lower);
int erase_list_has(const erase_list *l, const char *s);
void erase_list_free(erase_list *l);

/* Rewrites every *.jsonl in dir without the lines of p's cases, references
 * or addresses (temporary file 0600, fsync, rename), printing each file
 * changed. Returns the lines removed, or -1 after a message on stderr. */
long erase_outbox(const char *dir, const erase_person *p);
/* Deletes p's cases' letters from every <organisation>/ folder of dir,
 * printing each. Returns the letters deleted, or -1 after a message. */
long erase_print_queue(const char *dir, const erase_person *p);

#endif
