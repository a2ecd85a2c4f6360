/*
 * The contact store. A fired timer carries no personal data, so the
 * customer's details from the case's `received` event are kept in Redis
 * under "charter:case:{<case>}:contact" (a hash, expiring) until the case
 * closes, when they are deleted. The key is written in one place
 * (contact.c); the rest of the service reads a notify_contact
 * (contact_details.h).
 */
#ifndef CHARTER_NOTIFY_CONTACT_H
#define CHARTER_NOTIFY_CONTACT_H

#include <stdint.h>

#include "charter/runtime.h"
#include "charter/v1/case_event.pb-c.h"
#include "contact_details.h"

struct redisReply;

/*
 * The ch_redis_command contract for each: returns 0 and calls cb exactly
 * once (cb may be NULL), or CH_EAGAIN and never calls it.
 */

/* Records the details of a `received` event (ev->received), kept ttl_s
 * seconds from this write (notify.contact_ttl_days). */
int notify_contact_record(ch_runtime *rt, const Charter__V1__CaseEvent *ev, int ttl_s,
                          ch_redis_cb cb, void *opaque);
/* Records who deals with the case (an `assigned` event, ev->assigned): the
 * named contact of later notices. */
int notify_contact_assign(ch_runtime *rt, const Charter__V1__CaseEvent *ev, int ttl_s,
                          ch_redis_cb cb, void *opaque);
/* Deletes a closed case's details: the personal data goes. */
int notify_contact_forget(ch_runtime *rt, const char *case_id, ch_redis_cb cb, void *opaque);
/* Adds a booked appointment (for the reminder and a cancellation that does
 * not say when). No answer is awaited: a load on the same connection reads
 * it back in order. */
int notify_contact_book(ch_runtime *rt, const char *case_id, int64_t starts_at_s,
                        const char *location, int ttl_s);
/* Reads the details (HGETALL): see notify_contact_from_reply. */
int notify_contact_load(ch_runtime *rt, const char *case_id, ch_redis_cb cb, void *opaque);

/* Fills c from notify_contact_load's reply (an empty hash gives an empty
 * contact; language defaults to "en") and sets c->loaded. */
void notify_contact_from_reply(notify_contact *c, const struct redisReply *reply);

#endif
