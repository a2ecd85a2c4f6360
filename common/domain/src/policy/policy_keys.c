/*
 * What acts on each key of a policy file (policy.h, ch_policy_key_uses; the
 * same table is in docs/policies.md, "What acts on each key").
 *
 * A policy is a promise to customers, so a key that the loader reads and no
 * code then acts on is a promise silently not kept: it was how
 * reference_on_reply, measures and reporting.publish once sat in every file
 * doing nothing. The loader's key tables say what may be written; this table
 * says what is done with it, and after a file is read every key in it is
 * looked up here (ch__policy_check_acted): a key the tables accept but this
 * table lacks is refused at load, naming the file, line, key and why. A new
 * key therefore needs a row here, and the row names the code that acts on it.
 */
#include <stdio.h>
#include <string.h>

#include "charter/errors.h"
#include "policy_int.h"

static const ch_policy_key_use uses[] = {
    {"organisation", "(a mapping of the keys below)"},
    {"organisation.id", "every service: events name the organisation by it (org_set.c)"},
    {"organisation.name",
     "notification (the {organisation} of every notice), reporting (dashboard, API)"},
    {"organisation.reference_prefix", "ingest: case references (pipeline.c)"},
    {"organisation.kind", "reporting: complaints per 1,000 homes for housing landlords "
                          "(report_view.c); the loader requires homes for them"},
    {"organisation.homes", "reporting: complaints per 1,000 homes (report_view.c)"},
    {"calendar", "every clock: the organisation's working days (org_set.c, deadline.c)"},
    {"timezone", "every clock: local days and times (org_set.c)"},
    {"opening_hours", "clocks at closing time, warnings moved into opening hours (deadline.c)"},
    {"opening_hours.*", "the same, one day or range of days"},
    {"closures", "the organisation's calendar: closures are non-working days (org_set.c)"},
    {"options", "(a mapping of the keys below)"},
    {"options.defer_out_of_hours_receipt", "every clock: receipt after hours (deadline.c)"},
    {"options.roll_calendar_days_to_working_day",
     "calendar-day clocks ending on a non-working day (case_clock.c)"},
    {"sms_quiet_hours", "notification: text messages held overnight (retry_rules.c)"},
    {"visit_requirements", "notification: appointment confirmations quote them (render.c)"},
    {"contact", "notification: the team named in notices before anyone is assigned (render.c)"},
    {"contact.team", "notification: {contact_name} before anyone is assigned (render.c)"},
    {"contact.phone", "notification: {contact_details} before anyone is assigned (render.c)"},
    {"contact.email", "notification: {contact_details} before anyone is assigned (render.c)"},
    {"roles", "warnings and reviews: who is alerted (case_clock.c, notification render.c)"},
    {"roles.*", "the same, one role"},
    {"reporting", "(a mapping of the keys below)"},
    {"reporting.publish", "reporting: when the charter's results are published"},
    {"reporting.communication_support", "reporting: the communication-support counts published"},
    {"promises", "the rules cases are judged on (ch_policy_find_promise_for)"},
    {"promises[].id", "reporting rows, charterctl (report_view.c)"},
    {"promises[].channel", "which contacts the promise covers (routing.c)"},
    {"promises[].case_type",
     "which contacts the promise covers; the organisation's case types, refused at ingest "
     "otherwise (routing.c, ingest pipeline.c)"},
    {"promises[].says", "charterctl policy check and deadline quote it to staff"},
    {"promises[].acknowledge",
     "sla-timer (acknowledgement_due), notification (the acknowledgement), reporting "
     "(case_clock.c, report_agg.c)"},
    {"promises[].respond", "sla-timer (warnings, breach), reporting (case_clock.c, report_agg.c)"},
    {"promises[].answer", "reporting: calls answered in time (report_agg.c)"},
    {"promises[].answer.within", "reporting: calls answered in time (report_agg.c)"},
    {"promises[].answer.rings", "reporting: calls answered in time (report_agg.c)"},
    {"promises[].answer.ring_seconds", "reporting: a call's wait as rings (report_agg.c)"},
    {"promises[].callback",
     "sla-timer (callback_due at the agreed time), notification (staff_callback_overdue), "
     "reporting: call-backs promised, made in time, late, not made (case_clock.c, report_agg.c)"},
    {"promises[].see", "sla-timer (wait_exceeded), reporting (case_clock.c)"},
    {"promises[].see.within", "sla-timer (wait_exceeded), reporting (case_clock.c)"},
    {"promises[].see.after_appointment",
     "sla-timer (wait_exceeded from the appointment), reporting (case_clock.c)"},
    {"promises[].review", "sla-timer (review timers), notification (case_clock.c)"},
    {"promises[].review.first", "sla-timer: the first review (case_clock.c)"},
    {"promises[].review.then_every", "sla-timer: later reviews (case_clock.c)"},
    {"promises[].review.to", "notification: who is told a review is due (render.c)"},
    {"promises[].reply_channel", "notification: the channel a notice goes by (render.c)"},
    {"promises[].named_contact",
     "notification: the assigned person, else contact:, and phone numbers in notices (render.c)"},
    {"promises[].reference_on_reply",
     "notification: every customer template must carry {reference} (template_cache.c)"},
    {"promises[].holding_reply",
     "the extension check (ch_case_apply): whether a holding reply may move the target"},
    {"promises[].holding_reply.must_include",
     "the extension check (ch_case_apply): what a holding reply must carry"},
    {"promises[].holding_reply.max_extension",
     "the extension check (ch_case_apply): how far the target may move"},
    {"promises[].warnings", "sla-timer (warning timers), notification (case_clock.c)"},
    {"promises[].warnings[].at", "sla-timer: when the tier fires (case_clock.c)"},
    {"promises[].warnings[].to", "notification: who is warned (render.c)"},
    {"promises[].measures", "reporting: the measures counted and published"},
    {"promises[].target", "reporting: met / not met on the dashboard, in /v1/report and the "
                          "publication (report_view.c)"},
};

const ch_policy_key_use *
ch_policy_key_uses(size_t *n)
{
    *n = CH__COUNTOF(uses);
    return uses;
}

static const ch_policy_key_use *
use_of(const char *key)
{
    for (size_t i = 0; i < CH__COUNTOF(uses); i++)
        if (strcmp(uses[i].key, key) == 0)
            return &uses[i];
    return NULL;
}

/* The keys of mapping m: pattern is the table's form of its path
 * ("promises[]"), path the file's ("promises[3]"). */
static int
check_map(ch__yaml *y, yaml_node_t *m, const char *pattern, const char *path)
{
    for (yaml_node_pair_t *pair = m->data.mapping.pairs.start; pair < m->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *k = yaml_document_get_node(y->doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(y->doc, pair->value);
        if (!k || k->type != YAML_SCALAR_NODE || !v)
            continue;
        char kpat[CH__YAML_PATH_MAX], kpath[CH__YAML_PATH_MAX];
        ch__yaml_join(kpat, pattern, ch__yaml_text(k));
        ch__yaml_join(kpath, path, ch__yaml_text(k));
        if (!use_of(kpat)) {
            char star[CH__YAML_PATH_MAX];
            ch__yaml_join(star, pattern, "*");
            if (use_of(star))
                continue; /* a key the file names freely: a day, a role */
            return ch__yaml_fail(y, k, kpath,
                                 "Charter reads this key but no code acts on it, so a policy "
                                 "may not promise it (docs/policies.md, \"What acts on each "
                                 "key\")");
        }
        if (v->type == YAML_MAPPING_NODE) {
            int rc = check_map(y, v, kpat, kpath);
            if (rc)
                return rc;
        } else if (v->type == YAML_SEQUENCE_NODE) {
            char ipat[CH__YAML_PATH_MAX + 2];
            snprintf(ipat, sizeof(ipat), "%s[]", kpat);
            for (size_t i = 0; i < ch__yaml_items(v); i++) {
                char ipath[CH__YAML_PATH_MAX];
                yaml_node_t *item = ch__yaml_item(y, v, kpath, i, ipath);
                if (item && item->type == YAML_MAPPING_NODE) {
                    int rc = check_map(y, item, ipat, ipath);
                    if (rc)
                        return rc;
                }
            }
        }
    }
    return 0;
}

int
ch__policy_check_acted(ch__yaml *y, yaml_node_t *root)
{
    return root->type == YAML_MAPPING_NODE ? check_map(y, root, "", "") : 0;
}
