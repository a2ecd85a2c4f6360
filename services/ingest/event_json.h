/*
 * The JSON -> protobuf path for case events arriving from outside (HTTP
 * bodies, NDJSON batch lines, records on gateway topics). Pure: takes bytes,
 * returns a CaseEvent or an error that names the problem the way an API
 * client needs it (HTTP status, stable code, sentence with the field or the
 * line and column).
 *
 * Three shapes are read (docs/api.md has them all):
 *   - a contact (POST /v1/contacts): the `received` event of a new case;
 *   - a case event (POST /v1/cases/{id}/events): {"type": ..., ...} where the
 *     case id comes from the URL;
 *   - a record (POST /v1/events, NDJSON lines, gateway topics): a contact with
 *     "type": "received", or a case event with its "case_id" in the body.
 * Unknown fields are refused everywhere, so a misspelt field is not silently
 * dropped.
 *
 * The caller fills in what JSON does not carry: event id, case id, reference,
 * source and ingested_at.
 */
#ifndef CHARTER_EVENT_JSON_H
#define CHARTER_EVENT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "charter/v1/case_event.pb-c.h"

/* Longest case id (letters, digits, '-', '_') and gateway message id
 * (printable ASCII without spaces) accepted. */
#define CH_CASE_ID_MAX 64
#define CH_GATEWAY_MESSAGE_ID_MAX 128

typedef struct {
    int status;     /* 400 malformed JSON, 422 unusable content */
    char code[32];  /* "invalid_json", "missing_field", "wrong_type", ... */
    char field[64]; /* the offending field, dotted ("customer.email"), or "" */
    char message[256];
    /* for invalid_value from a field rule: why, a fixed phrase such as "it
     * contains a line break" that never quotes the client (safe to log and
     * to put on a dead-letter record); "" otherwise */
    char reason[96];
} ch_json_error;

typedef enum {
    CH_EVENT_JSON_CONTACT = 1, /* the body of POST /v1/contacts */
    CH_EVENT_JSON_CASE_EVENT,  /* the body of POST /v1/cases/{id}/events */
    CH_EVENT_JSON_RECORD       /* a self-contained record: "type" and, unless
                                  received, "case_id" */
} ch_event_json_kind;

/* What a body says besides the event itself. Empty strings when absent. */
typedef struct {
    char case_id[CH_CASE_ID_MAX + 1]; /* records of existing cases only */
    char gateway_message_id[CH_GATEWAY_MESSAGE_ID_MAX + 1];
} ch_event_json_meta;

/*
 * Parses one JSON document of the given kind (len bytes; body need not be
 * NUL-terminated). Every type of DESIGN.md section 2 is read: received
 * (contact), acknowledged, holding_reply, paused, resumed, responded, closed,
 * escalated, appointment, call, visit, communication_support, satisfaction,
 * reviewed, assigned, callback;
 * each with the fields docs/api.md lists, plus "gateway_message_id" (the
 * sender's id, used for deduplication). On success returns 0, sets *out (free
 * with ch_event_json_free) and fills *meta (may be NULL); on failure returns
 * CH_EINVAL, leaves *out NULL and fills *err.
 */
int ch_event_json_parse(const char *body, size_t len, ch_event_json_kind kind,
                        Charter__V1__CaseEvent **out, ch_event_json_meta *meta, ch_json_error *err);

/*
 * Parses a contact (POST /v1/contacts):
 *   {"organisation": "...", "channel": "email", "received_at": RFC 3339,
 *    "customer": {"name", "email", "phone", "postal_address",
 *                 "preferred_channel", "preferred_language", "preferred_format"},
 *    "summary": "...", "case_type": "enquiry", "gateway_message_id": "...",
 *    "parent_case_id": "..."}
 * organisation, channel and received_at are required. Same contract as
 * ch_event_json_parse(kind CH_EVENT_JSON_CONTACT, meta NULL).
 */
int ch_event_json_parse_contact(const char *body, size_t len, Charter__V1__CaseEvent **out,
                                ch_json_error *err);

/*
 * Parses an event on an existing case (POST /v1/cases/{id}/events):
 *   {"type": "acknowledged" | "holding_reply" | ... , "organisation": "...",
 *    "occurred_at": RFC 3339, ...type fields}
 * Same contract as ch_event_json_parse(kind CH_EVENT_JSON_CASE_EVENT, meta
 * NULL); case_id is left for the caller.
 */
int ch_event_json_parse_case_event(const char *body, size_t len, Charter__V1__CaseEvent **out,
                                   ch_json_error *err);

/*
 * The check that needs the clock, made after parsing: the event's time
 * (received_at of a contact, occurred_at of any other event) may be at most
 * max_future_skew_ms after now_ms (ingest.max_future_skew_s). The parsers
 * already refused times outside the calendars' years and every field that
 * breaks its rule (charter/contact_fields.h). Returns 0, or CH_EINVAL with
 * *err filled (422 invalid_value naming the field).
 */
int ch_event_json_check_clock(const Charter__V1__CaseEvent *ev, int64_t now_ms,
                              int64_t max_future_skew_ms, ch_json_error *err);

/* Frees an event built by the parsers above (or any unpacked CaseEvent). */
void ch_event_json_free(Charter__V1__CaseEvent *ev);

/* 1 when s[0..n) is a usable case id: 1 to CH_CASE_ID_MAX letters, digits,
 * '-' or '_'. */
int ch_event_json_valid_case_id(const char *s, size_t n);

/*
 * NDJSON splitting: returns 1 and the next line of buf[0..len) from *pos
 * (without its "\n" or "\r\n"), advancing *pos past it; 0 when buf is used
 * up. A final line without "\n" counts; an empty buffer has no lines. The
 * caller numbers lines from 1 by counting calls, so empty lines (which it
 * may skip) keep the numbering of the text.
 */
int ch_event_json_next_line(const char *buf, size_t len, size_t *pos, const char **line,
                            size_t *line_len);

#endif
