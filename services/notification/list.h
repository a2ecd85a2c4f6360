/*
 * An intrusive doubly linked list for what notification holds in flight
 * (the queue's sends, curl's transfers, Kafka hand-offs not yet reported):
 * put a notify_link first in the struct, and removal is O(1) from anywhere.
 */
#ifndef CHARTER_NOTIFY_LIST_H
#define CHARTER_NOTIFY_LIST_H

#include <stddef.h>

typedef struct notify_link {
    struct notify_link *prev, *next;
} notify_link;

static inline void
notify_list_push(notify_link **head, notify_link *l)
{
    l->prev = NULL;
    l->next = *head;
    if (*head)
        (*head)->prev = l;
    *head = l;
}

static inline void
notify_list_remove(notify_link **head, notify_link *l)
{
    if (l->prev)
        l->prev->next = l->next;
    else
        *head = l->next;
    if (l->next)
        l->next->prev = l->prev;
    l->prev = l->next = NULL;
}

#endif
