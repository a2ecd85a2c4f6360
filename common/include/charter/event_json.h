/*
 * The JSON -> protobuf path for case events arriving over HTTP. Pure: takes
 * bytes, returns a CaseEvent or an error that names the problem the way an
 * API client needs it (HTTP status, stable code, sentence with the field or
 * the line and column).
 *
 * The caller fills in what JSON does not carry: event id, case id, reference,
 * source and ingested_at.
 */
#ifndef CHARTER_EVENT_JSON_H
#define CHARTER_EVENT_JSON_H

#include <stddef.h>

#include "charter/v1/case_event.pb-c.h"

typedef struct {
    int status;     /* 400 malformed JSON, 422 unusable content */
    char code[32];  /* "invalid_json", "missing_field", "wrong_type", ... */
    char field[64]; /* the offending field, dotted ("customer.email"), or "" */
    char message[256];
} ch_json_error;

/*
 * Parses a contact (POST /v1/contacts):
 *   {"organisation": "...", "channel": "email", "received_at": RFC 3339,
 *    "customer": {"name", "email", "phone", "postal_address",
 *                 "preferred_channel", "preferred_language", "preferred_format"},
 *    "summary": "...", "case_type": "enquiry", "gateway_message_id": "..."}
 * organisation, channel and received_at are required. Unknown fields are
 * refused so a misspelt field is not silently dropped.
 * On success returns 0 and *out (free with ch_event_json_free); on failure
 * returns CH_EINVAL and fills *err.
 */
int ch_event_json_parse_contact(const char *body, size_t len, Charter__V1__CaseEvent **out,
                                ch_json_error *err);

/*
 * Parses an event on an existing case (POST /v1/cases/{id}/events):
 *   {"type": "acknowledged" | "responded" | "closed",
 *    "organisation": "...", "occurred_at": RFC 3339, ...type fields}
 * Same contract as above; case_id is left for the caller.
 */
int ch_event_json_parse_case_event(const char *body, size_t len, Charter__V1__CaseEvent **out,
                                   ch_json_error *err);

/* Frees an event built by the parsers above (or any unpacked CaseEvent). */
void ch_event_json_free(Charter__V1__CaseEvent *ev);

/* "email" -> CHARTER__V1__CHANNEL__CHANNEL_EMAIL; UNSPECIFIED if unknown. */
Charter__V1__Channel ch_channel_from_name(const char *name);
/* The inverse; "unspecified" for unknown values. */
const char *ch_channel_name(Charter__V1__Channel ch);

#endif
