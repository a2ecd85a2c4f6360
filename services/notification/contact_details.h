/*
 * The customer's details as a value: what contact.c reads back from the
 * contact store and render.c writes messages from. Apart from contact.h so
 * that rendering, which is pure, sees the value without the store's Redis
 * and runtime.
 */
#ifndef CHARTER_NOTIFY_CONTACT_DETAILS_H
#define CHARTER_NOTIFY_CONTACT_DETAILS_H

#include <stdint.h>

/* What the case's `received` event (and a booked appointment) recorded. */
typedef struct {
    char name[256], email[320], phone[64], preferred[32], lang[16], inbound[32];
    char reference[128], case_type[64], location[256];
    int64_t appointment_s; /* the booked appointment, 0 when none is recorded */
    int loaded;
} notify_contact;

#endif
