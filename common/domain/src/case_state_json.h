/*
 * A case state as a jansson value, for the domain files that nest it in a
 * larger document (report_agg.c's ch_report_case keeps it under "clock"), so
 * they put the object in place instead of dumping it to text and parsing the
 * text back. The text form everyone else uses, ch_case_state_to_json and
 * ch_case_state_from_json (case_clock.h), is this plus one dump or load.
 *
 * Domain-private: the public headers stay free of jansson.
 */
#ifndef CHARTER_CASE_STATE_JSON_H
#define CHARTER_CASE_STATE_JSON_H

#include <jansson.h>

#include "charter/case_clock.h"

/* A new object (the caller owns the reference), or NULL on ENOMEM. */
json_t *ch__case_state_pack(const ch_case_state *st);

/* Fills *st from an object as ch__case_state_pack writes it (borrowed; not
 * changed). Returns 0, or CH_EINVAL with *st zeroed when a field is missing
 * or of the wrong type. Pauses beyond CH_CASE_MAX_PAUSES, and pauses that are
 * not two integers, are dropped. */
int ch__case_state_unpack(const json_t *o, ch_case_state *st);

/* o as compact JSON text (the caller frees it) and o released: the last step
 * of every text codec here. NULL when o is NULL or on ENOMEM. */
char *ch__json_text(json_t *o);

#endif
