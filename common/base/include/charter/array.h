/*
 * Growing an array the caller keeps as a pointer, a count and a capacity in
 * its own struct (a kafka.* list, a report table, a list of acknowledgements).
 * The struct stays the caller's; the growth rule (double, from 16, refuse an
 * overflowing size) is written once, here.
 *
 *   if (ch_array_grow(&t->items, &t->cap, t->n + 1, sizeof(*t->items)) != 0)
 *       return CH_ENOMEM;
 *   t->items[t->n++] = item;
 */
#ifndef CHARTER_ARRAY_H
#define CHARTER_ARRAY_H

#include <stddef.h>

/*
 * Makes room for at least `need` elements of `size` bytes. itemsp is the
 * address of the array's pointer (a T **, NULL while empty) and *cap its
 * capacity in elements; both are updated when it grows, by doubling from 16
 * until need fits. Returns 0 (nothing to do when need <= *cap), or CH_ENOMEM
 * with the array and *cap unchanged.
 */
int ch_array_grow(void *itemsp, size_t *cap, size_t need, size_t size);

#endif
