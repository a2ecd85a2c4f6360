/*
 * The per-promise view (report_view.h) as JSON, written and read in one
 * place.
 *
 * WHY ONE CODEC
 *
 * The reporting service writes the view into GET /v1/report ("promises",
 * "measures") and into the publications it keeps (GET /v1/publication);
 * charterctl reads it back to render the annual publication without reading
 * policies itself. When the writer and the reader each spelled the fields
 * their own way, a line added on one side was silently dropped on the
 * other; here a row written is a row read, every line included.
 *
 * A promise line:
 *   {"id", "promise", "measure", "received", "in_time", "late", "number",
 *    "open_overdue", "target_pct" (null when measured only),
 *    "target_source" ("policy": the promise's own target:, "default": none
 *    given, report.target_pct applies; null when measured only), "pct_within"
 *    (null when nothing was judged), "met" (null likewise), "result" (the
 *    same in words: "met", "not met", "no cases", "measured only"),
 *    "lines": the names of the lines beside the main one
 *      ("original", "acknowledgement", "time_to_respond",
 *       "first_contact_resolution", "appointments", "communication_support",
 *       "satisfaction", "reviews"), and one object per line named there
 *    (report_view.h says what each counts)}.
 * The organisation's own measures, "measures":
 *   {"communication_support": {"<kind>": n, ...} (the kinds the policy
 *    lists, zeros included), "satisfaction": {"responses", "satisfied",
 *    "satisfied_pct", "mean_score_pct"}}.
 *
 * Pure: values in, values out.
 */
#ifndef CHARTER_REPORT_JSON_H
#define CHARTER_REPORT_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "charter/report_view.h"

/* One promise line as above; NULL on ENOMEM. */
json_t *ch_report_promise_to_json(const ch_report_promise_row *r);
/* The organisation's own measures; NULL on ENOMEM. */
json_t *ch_report_measures_to_json(const ch_report_view *v);

/*
 * A report as GET /v1/report answers it (organisation, name, figures with
 * received and open_overdue, promises, measures) read back into *v, its
 * period set to `period`. 0, or CH_EINVAL with why in errstr (the field at
 * fault), or CH_ENOMEM. On failure *v is empty (ch_report_view_free safe).
 */
int ch_report_view_from_json(const json_t *root, const char *period, ch_report_view *v,
                             char *errstr, size_t errstr_size);

#endif
