/*
 * ingest's directory of cases: which case a reference names, and which open
 * case a sender (an e-mail address, a phone number, a social-media id) has
 * with an organisation. The gateways need it to join a customer's reply to
 * its case instead of opening a second one: an e-mail quoting the
 * reference, a text from the number of a case waiting for the customer, a
 * Messenger follow-up from the same person.
 *
 * Every event ingest writes keeps it up to date (pipeline.c calls
 * ingest_dir_record once Kafka has confirmed the write): a contact adds its
 * reference and senders, `paused` / `resumed` mark the case waiting for the
 * customer or not, `closed` takes its senders out. It lives in ingest's
 * Redis (ingest.directory_ttl_s), each entry a few short keys:
 *
 *   charter:ingest:dir:case:<case id>    hash: organisation, reference,
 *                                        email, phone, social, open, awaiting
 *   charter:ingest:dir:ref:<reference>   -> case id
 *   charter:ingest:dir:sender:<organisation>:<kind>:<id> -> the newest open
 *                                        case id from that sender
 *
 * Lost entries (Redis lost data, the write failed) mean a reply opens a new
 * case: logged, never an error for the sender.
 */
#ifndef CHARTER_INGEST_DIRECTORY_H
#define CHARTER_INGEST_DIRECTORY_H

#include "ingest.h"

typedef struct {
    char case_id[CH_CASE_ID_MAX + 1];
    char organisation[64];
    char reference[64];
    int open;     /* not closed */
    int awaiting; /* paused: waiting for the customer */
} ingest_dir_case;

/* cb exactly once: rc 0 and c->case_id[0] == '\0' when nothing matches;
 * rc < 0 when Redis could not be asked (c then all empty). c is borrowed. */
typedef void (*ingest_dir_cb)(void *arg, int rc, const ingest_dir_case *c);

/* Registers the directory's scripts (at start). 0 or CH_ENOMEM. */
int ingest_dir_init(ingest *in);

/* The case with this reference, open or not. */
void ingest_dir_by_reference(ingest *in, const char *reference, ingest_dir_cb cb, void *arg);

/* The case itself (e.g. from a notice id in an e-mail's In-Reply-To): its
 * organisation, to check the message is for the same one. */
void ingest_dir_by_case(ingest *in, const char *case_id, ingest_dir_cb cb, void *arg);

/* The newest open case of organisation from this sender. kind is "email"
 * (compared without regard to case), "phone" (E.164) or "social" (the
 * page-scoped id). A closed case is never returned. */
void ingest_dir_by_sender(ingest *in, const char *organisation, const char *kind, const char *id,
                          ingest_dir_cb cb, void *arg);

/* Notes what ev (written to Kafka under case_id) changes; fire and forget.
 * With an outcome_key, the same call first sets it to outcome for
 * outcome_ttl seconds (pipeline.c's D record of the write: one round trip
 * for both). Returns 1 when the call was sent, 0 when ev changes nothing in
 * the directory (nothing sent: the caller records its outcome itself), or
 * CH_EAGAIN when Redis is not connected (logged). */
int ingest_dir_record(ingest *in, const Charter__V1__CaseEvent *ev, const char *case_id,
                      const char *outcome_key, const char *outcome, const char *outcome_ttl);

#endif
