/*
 * The customer's details as a value: what contact.c reads back from the
 * contact store and render.c writes messages from. Apart from contact.h so
 * that rendering, which is pure, sees the value without the store's Redis
 * and runtime.
 */
#ifndef CHARTER_NOTIFY_CONTACT_DETAILS_H
#define CHARTER_NOTIFY_CONTACT_DETAILS_H

#include <stdint.h>

/* What the case's `received` event (and a booked appointment, and an
 * `assigned` event) recorded. inbound is set once `received` was. */
typedef struct {
    char name[256], email[320], phone[64], preferred[32], lang[16], inbound[32];
    char reference[128], case_type[64], location[256];
    char postal[512]; /* the postal address, for a letter */
    /* A social-media contact: the sender's id on the network (Meta's page-scoped id) and the
     * page or account it wrote to, where a reply goes from. */
    char social_id[128], gateway_account[128];
    /* The member of staff dealing with the case (`assigned`), "" before. */
    char assigned_name[128], assigned_team[128], assigned_phone[64], assigned_email[320];
    int64_t appointment_s; /* the booked appointment, 0 when none is recorded */
    int loaded;
} notify_contact;

#endif
