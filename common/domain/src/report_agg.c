/* The charter's figures as differences of case contributions (see report_agg.h). */
#include "charter/report_agg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/org_set.h"
#include "charter/tz.h"

static const char *const fig_names[CH_REPORT_FIG_COUNT] = {
    "received",
    "acknowledged_in_time",
    "acknowledged_late",
    "answered",
    "answered_in_time",
    "answered_late",
    "answered_in_time_original",
    "answered_late_original",
    "extended",
    "open",
    "escalated",
    "calls_answered",
    "calls_answered_in_time",
    "calls_answered_late",
    "calls_abandoned",
    "visitors_seen",
    "visitors_seen_in_time",
    "visitors_seen_late",
    "visitors_left_unseen",
    "satisfaction_responses",
    "satisfaction_score_pct_sum",
    "satisfied",
    "timers.acknowledgement_due",
    "timers.breach",
    "timers.wait_exceeded",
    "notifications.sent",
    "notifications.failed",
    "not_acknowledged",
    "calls_resolved_first_time",
    "appointments",
    "appointments_kept",
    "appointments_missed",
    "appointments_cancelled_by_organisation",
    "appointments_cancelled_by_customer",
    "appointments_rebooked",
    "appointments_to_come",
    "reviews_in_time",
    "reviews_late",
    "reviews_overdue",
    "callbacks_promised",
    "callbacks_made",
    "callbacks_made_in_time",
    "callbacks_made_late",
    "callbacks_not_made",
    "callbacks_overdue",
    "visitors_resolved_first_time",
    "extensions_refused",
};

static const char *const support_names[CH_REPORT_SUPPORT_COUNT] = {
    "phone_interpreting",
    "face_to_face_interpreting",
    "bsl",
    "audio",
    "large_print",
    "braille",
    "easy_read",
    "translation",
    "other",
};

static const char *const unit_names[CH_REPORT_UNIT_COUNT] = {
    "working_days", "days", "hours", "minutes", "seconds",
};

const char *
ch_report_fig_name(ch_report_fig f)
{
    return f < CH_REPORT_FIG_COUNT ? fig_names[f] : "unknown";
}

const char *
ch_report_support_name(ch_report_support s)
{
    return s < CH_REPORT_SUPPORT_COUNT ? support_names[s] : "unknown";
}

const char *
ch_report_unit_name(ch_report_unit u)
{
    return u < CH_REPORT_UNIT_COUNT ? unit_names[u] : "unknown";
}

void
ch_report_period(int32_t dayno, ch_report_granularity g, char *buf, size_t bufsz)
{
    int y, m, d;
    ch_civil_from_day(dayno, &y, &m, &d);
    if (y >= 0 && y <= 9999 && bufsz >= 11) {
        /* what the formats below print, without their parsing (three
         * periods a case, twice per record) */
        char *p = buf;
        *p++ = (char)('0' + y / 1000);
        *p++ = (char)('0' + y / 100 % 10);
        *p++ = (char)('0' + y / 10 % 10);
        *p++ = (char)('0' + y % 10);
        if (g != CH_REPORT_YEAR) {
            *p++ = '-';
            *p++ = (char)('0' + m / 10);
            *p++ = (char)('0' + m % 10);
        }
        if (g != CH_REPORT_YEAR && g != CH_REPORT_MONTH) {
            *p++ = '-';
            *p++ = (char)('0' + d / 10);
            *p++ = (char)('0' + d % 10);
        }
        *p = '\0';
        return;
    }
    if (g == CH_REPORT_YEAR)
        snprintf(buf, bufsz, "%04d", y);
    else if (g == CH_REPORT_MONTH)
        snprintf(buf, bufsz, "%04d-%02d", y, m);
    else
        snprintf(buf, bufsz, "%04d-%02d-%02d", y, m, d);
}

static int64_t
ms_of(const Charter__V1__Timestamp *ts)
{
    return ts ? ts->seconds * 1000 + ts->nanos / 1000000 : 0;
}

static int64_t
earliest(int64_t a, int64_t b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return a < b ? a : b;
}

/* ---- contributions ---- */

typedef struct {
    ch_report_item *out;
    size_t cap, n;
    char prefix[3][CH_REPORT_KEY_MAX];
    const char *channel, *type;
    int overflow;
} item_list;

static void
put_keys(item_list *l, char (*prefix)[CH_REPORT_KEY_MAX], const char *figure, int64_t v)
{
    if (v == 0)
        return;
    size_t flen = strlen(figure);
    for (int g = 0; g < 3; g++) {
        /* prefix and figure, cut to the key's size as snprintf would (this runs
         * for every figure of every period of a case, twice per record) */
        char key[CH_REPORT_KEY_MAX];
        size_t pl = strnlen(prefix[g], sizeof(key) - 1);
        size_t fl = flen < sizeof(key) - 1 - pl ? flen : sizeof(key) - 1 - pl;
        memcpy(key, prefix[g], pl);
        memcpy(key + pl, figure, fl);
        key[pl + fl] = '\0';
        size_t i;
        for (i = 0; i < l->n; i++)
            if (strcmp(l->out[i].key, key) == 0)
                break;
        if (i < l->n) {
            l->out[i].value += v;
            continue;
        }
        if (l->n == l->cap) {
            l->overflow = 1;
            return;
        }
        memcpy(l->out[l->n].key, key, sizeof(key));
        l->out[l->n++].value = v;
    }
}

/* A figure of the case, in the periods of its receipt. */
static void
put(item_list *l, const char *figure, int64_t v)
{
    put_keys(l, l->prefix, figure, v);
}

/* A figure in the periods of local day `day` (same channel and type). */
static void
put_on_day(item_list *l, int32_t day, const char *figure, int64_t v)
{
    char prefix[3][CH_REPORT_KEY_MAX];
    for (int g = 0; g < 3; g++) {
        char period[16];
        ch_report_period(day, (ch_report_granularity)g, period, sizeof(period));
        ch_report_key_prefix(prefix[g], sizeof(prefix[g]), period, l->channel, l->type);
    }
    put_keys(l, prefix, figure, v);
}

/* One case judged against a target: in time (at <= due) or late; nothing
 * without a target. */
static void
judge(item_list *l, int64_t at, int64_t due, ch_report_fig in_time, ch_report_fig late)
{
    if (due)
        put(l, fig_names[at <= due ? in_time : late], 1);
}

/* A call answered in time: within the promise's seconds, or its rings, either
 * when both are promised. Rings are the telephony's count when it sends one;
 * otherwise the wait in whole rings of the promise's cadence, so four rings at
 * a ring every 3 s is a wait of up to 12 s. */
static int
call_in_time(const ch_policy_promise *p, const ch_report_case *rc)
{
    if (p->answer.set && !p->answer_measured_only && rc->call_wait_s <= p->answer.clock.n)
        return 1;
    if (p->answer_rings <= 0)
        return 0;
    if (rc->call_rings > 0)
        return rc->call_rings <= (uint32_t)p->answer_rings;
    return rc->call_wait_s <= (uint32_t)p->answer_rings * (uint32_t)p->answer_ring_seconds;
}

/* The case as if still open, for ch_case_timers to give its targets. */
static ch_case_state
open_view(const ch_case_state *st)
{
    ch_case_state v = *st;
    v.responded = 0;
    v.closed = 0;
    v.escalated = 0;
    v.seen = 0;
    v.paused_since_ms = 0;
    return v;
}

/* The due instant of the timer of `kind` for the view, or 0; the response
 * target into *target_ms when target_ms is given. */
static int
timer_due(const ch_org_clocks *oc, const ch_case_state *v, Charter__V1__TimerKind kind,
          int64_t *due_ms, int64_t *target_ms)
{
    ch_case_timer t[32];
    int64_t target = 0;
    int n = ch_case_timers(oc, "case", v, t, 32, &target);
    if (n < 0)
        return n;
    *due_ms = 0;
    for (int i = 0; i < n; i++)
        if (t[i].kind == kind) {
            *due_ms = t[i].due_ms;
            break;
        }
    if (target_ms)
        *target_ms = target;
    return 0;
}

static int
paused_day(const ch_tz *tz, const ch_case_state *st, int32_t day)
{
    for (size_t i = 0; i < st->npauses; i++)
        if (day >= ch_tz_local_day(tz, st->pauses[i].from_ms) &&
            day <= ch_tz_local_day(tz, st->pauses[i].to_ms))
            return 1;
    return 0;
}

static int64_t
ceil_div(int64_t a, int64_t b)
{
    return a <= 0 ? 0 : (a + b - 1) / b;
}

/* Time to respond in the clock's own unit (report_agg.h). */
static void
time_to_respond(const ch_org_clocks *oc, const ch_report_case *rc, const ch_policy_promise *p,
                int64_t ack_due, ch_report_unit *unit, int64_t *value)
{
    const ch_case_state *st = &rc->clock;
    int64_t end = rc->responded_ms;
    if (!p || !p->respond.set || p->respond_measured_only) {
        *unit = CH_REPORT_UNIT_HOURS;
        *value = ceil_div(end - rc->received_ms, 3600LL * 1000);
    } else {
        const ch_clock *c = &p->respond.clock;
        int64_t start = st->received_ms;
        if (c->anchor == CH_CLOCK_FROM_ACKNOWLEDGEMENT)
            start = st->acknowledged_ms ? st->acknowledged_ms : ack_due;
        if (c->kind == CH_CLOCK_ELAPSED) {
            int64_t elapsed = end - start;
            for (size_t i = 0; i < st->npauses; i++) {
                int64_t from = st->pauses[i].from_ms > start ? st->pauses[i].from_ms : start;
                int64_t to = st->pauses[i].to_ms < end ? st->pauses[i].to_ms : end;
                if (to > from)
                    elapsed -= to - from;
            }
            int64_t per = c->n % 3600 == 0 ? 3600 : c->n % 60 == 0 ? 60 : 1;
            *unit = per == 3600 ? CH_REPORT_UNIT_HOURS
                    : per == 60 ? CH_REPORT_UNIT_MINUTES
                                : CH_REPORT_UNIT_SECONDS;
            *value = ceil_div(elapsed, per * 1000);
        } else {
            const ch_calendar *cal = NULL;
            if (c->kind == CH_CLOCK_WORKING_DAYS || c->kind == CH_CLOCK_NEXT_WORKING_DAY) {
                *unit = CH_REPORT_UNIT_WORKING_DAYS;
                cal = c->calendar == CH_CLOCK_CAL_UK_ANY     ? oc->uk_any
                      : c->calendar == CH_CLOCK_CAL_SCOTLAND ? oc->scotland
                                                             : oc->calendar;
            } else {
                *unit = CH_REPORT_UNIT_DAYS;
            }
            int64_t n = 0;
            int32_t last = ch_tz_local_day(oc->tz, end);
            for (int32_t d = ch_tz_local_day(oc->tz, start) + 1;
                 d <= last && n <= CH_REPORT_TTR_MAX; d++)
                if ((!cal || ch_calendar_is_working_day(cal, d)) && !paused_day(oc->tz, st, d))
                    n++;
            *value = n;
        }
    }
    if (*value > CH_REPORT_TTR_MAX)
        *value = CH_REPORT_TTR_MAX;
}

/* Each appointment once, by its latest status (report_agg.h). */
static void
appointments(item_list *l, const ch_report_case *rc)
{
    for (size_t i = 0; i < rc->nappts; i++) {
        const ch_report_appointment *a = &rc->appts[i];
        ch_report_fig f;
        switch (a->status) {
        case CHARTER__V1__APPOINTMENT__STATUS__STATUS_KEPT:
            f = CH_REPORT_APPOINTMENTS_KEPT;
            break;
        case CHARTER__V1__APPOINTMENT__STATUS__STATUS_MISSED:
            f = CH_REPORT_APPOINTMENTS_MISSED;
            break;
        case CHARTER__V1__APPOINTMENT__STATUS__STATUS_CANCELLED:
            f = a->by_org ? CH_REPORT_APPOINTMENTS_CANCELLED_ORG
                          : CH_REPORT_APPOINTMENTS_CANCELLED_CUSTOMER;
            break;
        default:
            f = CH_REPORT_APPOINTMENTS_TO_COME;
            break;
        }
        put(l, fig_names[CH_REPORT_APPOINTMENTS], 1);
        put(l, fig_names[f], 1);
        put(l, fig_names[CH_REPORT_APPOINTMENTS_REBOOKED], a->rebooked ? 1 : 0);
    }
}

/* The case's call-back, if one was promised (report_agg.h). */
static void
callbacks(item_list *l, const ch_policy_promise *p, const ch_report_case *rc)
{
    const ch_case_state *st = &rc->clock;
    if (!st->callback_promised_ms)
        return;
    int timed = p && p->callback == CH_POLICY_CALLBACK_AT_AGREED_TIME && st->callback_at_ms;
    put(l, fig_names[CH_REPORT_CALLBACKS_PROMISED], 1);
    if (st->callback_made_ms) {
        put(l, fig_names[CH_REPORT_CALLBACKS_MADE], 1);
        if (timed)
            judge(l, st->callback_made_ms, st->callback_at_ms, CH_REPORT_CALLBACKS_IN_TIME,
                  CH_REPORT_CALLBACKS_LATE);
        return;
    }
    put(l, fig_names[CH_REPORT_CALLBACKS_NOT_MADE], 1);
    if (timed && rc->callback_fired_ms >= st->callback_at_ms)
        put(l, fig_names[CH_REPORT_CALLBACKS_OVERDUE], 1);
}

/* A review clock from start, as sla-timer runs it (calendar days and months
 * rolled to a working day when the policy says). */
static int
review_due(const ch_org_clocks *oc, const ch_policy_clock *pc, int64_t start, int64_t *due)
{
    ch_clock c = pc->clock;
    if (oc->policy.roll_calendar_days && (c.kind == CH_CLOCK_DAYS || c.kind == CH_CLOCK_MONTHS))
        c.roll_forward = 1;
    return ch_deadline_due(&oc->ctx, &c, start, NULL, 0, due);
}

/* Reviews done in time, late, and the first one overdue (report_agg.h). */
static int
reviews(item_list *l, const ch_org_clocks *oc, const ch_policy_promise *p, const ch_report_case *rc)
{
    int64_t due;
    if (review_due(oc, &p->review_first, rc->clock.received_ms, &due) != 0)
        return CH_EINVAL;
    for (size_t n = 0; n < 64; n++) {
        int32_t day = ch_tz_local_day(oc->tz, due); /* a review counts when it falls due */
        if (n >= rc->nreviews) {
            if (rc->review_fired & (1ULL << n))
                put_on_day(l, day, fig_names[CH_REPORT_REVIEWS_OVERDUE], 1);
            return 0;
        }
        const ch_report_review *rv = &rc->reviews[n];
        put_on_day(l, day,
                   fig_names[rv->at_ms <= due ? CH_REPORT_REVIEWS_IN_TIME : CH_REPORT_REVIEWS_LATE],
                   1);
        if (rv->lifted || !p->review_every.set)
            return 0;
        if (review_due(oc, &p->review_every, rv->at_ms, &due) != 0)
            return CH_EINVAL;
    }
    return 0;
}

int
ch_report_contrib(const ch_org_clocks *oc, const ch_report_case *rc, ch_report_item *out,
                  size_t cap)
{
    const ch_case_state *st = &rc->clock;
    if (!rc->received_ms)
        return 0;
    const char *channel = st->channel[0] ? st->channel : "unspecified";
    const char *type = st->case_type[0] ? st->case_type : "enquiry";
    item_list l = {.out = out, .cap = cap, .channel = channel, .type = type};
    int32_t day = ch_tz_local_day(oc ? oc->tz : NULL, rc->received_ms);
    for (int g = 0; g < 3; g++) {
        char period[16];
        ch_report_period(day, (ch_report_granularity)g, period, sizeof(period));
        ch_report_key_prefix(l.prefix[g], sizeof(l.prefix[g]), period, channel, type);
    }
    const ch_policy_promise *p = oc ? ch_policy_find_promise(&oc->policy, channel, type) : NULL;
    ch_case_state view = open_view(st);

    put(&l, fig_names[CH_REPORT_RECEIVED], 1);
    if (!rc->responded_ms && !st->closed && !st->escalated)
        put(&l, fig_names[CH_REPORT_OPEN], 1);
    put(&l, fig_names[CH_REPORT_ESCALATED], st->escalated ? 1 : 0);
    put(&l, fig_names[CH_REPORT_EXTENDED], st->extended_to_ms ? 1 : 0);
    put(&l, fig_names[CH_REPORT_EXTENSIONS_REFUSED], st->extensions_refused);

    /* acknowledgement */
    int64_t ack_due = 0;
    if (p && p->ack != CH_POLICY_ACK_NONE) {
        ch_case_state v = view;
        v.acknowledged_ms = 0;
        if (timer_due(oc, &v, CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE, &ack_due,
                      NULL) != 0)
            return CH_EINVAL;
        /* the timer's instant is the limit: an automatic acknowledgement's
         * includes its grace (CH_CASE_AUTO_ACK_GRACE_MS) */
        int64_t acked = earliest(rc->acked_ms, rc->responded_ms);
        if (acked)
            judge(&l, acked, ack_due, CH_REPORT_ACK_IN_TIME, CH_REPORT_ACK_LATE);
        else
            put(&l, fig_names[CH_REPORT_NOT_ACKNOWLEDGED], 1);
    }

    /* response */
    if (rc->responded_ms) {
        put(&l, fig_names[CH_REPORT_ANSWERED], 1);
        if (p && p->respond.set && !p->respond_measured_only) {
            int64_t target = 0, original = 0, unused;
            if (timer_due(oc, &view, CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH, &unused,
                          &target) != 0)
                return CH_EINVAL;
            ch_case_state v = view;
            v.extended_to_ms = 0;
            if (timer_due(oc, &v, CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH, &unused, &original) !=
                0)
                return CH_EINVAL;
            judge(&l, rc->responded_ms, target, CH_REPORT_ANSWERED_IN_TIME,
                  CH_REPORT_ANSWERED_LATE);
            judge(&l, rc->responded_ms, original, CH_REPORT_ANSWERED_IN_TIME_ORIGINAL,
                  CH_REPORT_ANSWERED_LATE_ORIGINAL);
        }
        ch_report_unit unit;
        int64_t value;
        time_to_respond(oc, rc, p, ack_due, &unit, &value);
        char name[48];
        snprintf(name, sizeof(name), "ttr.%s.%lld", unit_names[unit], (long long)value);
        put(&l, name, 1);
    }

    /* calls */
    if (rc->call_status == CHARTER__V1__CALL__STATUS__STATUS_ANSWERED) {
        put(&l, fig_names[CH_REPORT_CALLS_ANSWERED], 1);
        if (p && ((p->answer.set && !p->answer_measured_only) || p->answer_rings > 0)) {
            int ok = call_in_time(p, rc);
            put(&l, fig_names[ok ? CH_REPORT_CALLS_IN_TIME : CH_REPORT_CALLS_LATE], 1);
        }
        put(&l, fig_names[CH_REPORT_CALLS_RESOLVED_FIRST_TIME], rc->call_resolved ? 1 : 0);
    } else if (rc->call_status == CHARTER__V1__CALL__STATUS__STATUS_ABANDONED) {
        put(&l, fig_names[CH_REPORT_CALLS_ABANDONED], 1);
    }

    /* visitors */
    if (rc->seen_ms) {
        put(&l, fig_names[CH_REPORT_VISITORS_SEEN], 1);
        int64_t due = 0;
        if (p && timer_due(oc, &view, CHARTER__V1__TIMER_KIND__TIMER_KIND_WAIT_EXCEEDED, &due,
                           NULL) != 0)
            return CH_EINVAL;
        judge(&l, rc->seen_ms, due, CH_REPORT_VISITORS_IN_TIME, CH_REPORT_VISITORS_LATE);
        put(&l, fig_names[CH_REPORT_VISITORS_RESOLVED_FIRST_TIME], rc->visit_resolved ? 1 : 0);
    } else if (rc->left_unseen) {
        put(&l, fig_names[CH_REPORT_VISITORS_LEFT_UNSEEN], 1);
    }

    /* satisfaction */
    if (rc->satisfaction_max) {
        uint32_t s = rc->satisfaction_score, m = rc->satisfaction_max;
        put(&l, fig_names[CH_REPORT_SATISFACTION_RESPONSES], 1);
        put(&l, fig_names[CH_REPORT_SATISFACTION_SCORE_PCT_SUM], ((int64_t)s * 100 + m / 2) / m);
        put(&l, fig_names[CH_REPORT_SATISFIED], (uint64_t)s * 5 >= (uint64_t)m * 4 ? 1 : 0);
    }

    for (int k = 0; k < CH_REPORT_SUPPORT_COUNT; k++) {
        char name[48];
        snprintf(name, sizeof(name), "support.%s", support_names[k]);
        put(&l, name, rc->support[k]);
    }

    appointments(&l, rc);
    callbacks(&l, p, rc);
    if (p && p->review_first.set && reviews(&l, oc, p, rc) != 0)
        return CH_EINVAL;

    put(&l, fig_names[CH_REPORT_TIMERS_ACK_DUE], rc->flags & CH_REPORT_FIRED_ACK_DUE ? 1 : 0);
    put(&l, fig_names[CH_REPORT_TIMERS_BREACH], rc->flags & CH_REPORT_FIRED_BREACH ? 1 : 0);
    put(&l, fig_names[CH_REPORT_TIMERS_WAIT_EXCEEDED],
        rc->flags & CH_REPORT_FIRED_WAIT_EXCEEDED ? 1 : 0);
    put(&l, fig_names[CH_REPORT_NOTIFICATIONS_SENT],
        rc->flags & CH_REPORT_NOTIFIED_ACK_SENT ? 1 : 0);
    put(&l, fig_names[CH_REPORT_NOTIFICATIONS_FAILED],
        rc->flags & CH_REPORT_NOTIFIED_ACK_FAILED ? 1 : 0);
    return l.overflow ? CH_EINVAL : (int)l.n;
}

/* ---- applying records ---- */

/* The index of key in items[0..n), or n. The search starts at hint and
 * wraps: the two lists diff compares come from the same code, so they are
 * mostly in the same order and a key is usually found at once. */
static size_t
find_from(const ch_report_item *items, size_t n, const char *key, size_t hint)
{
    for (size_t k = 0, i = hint < n ? hint : 0; k < n; k++, i = i + 1 < n ? i + 1 : 0)
        if (strcmp(items[i].key, key) == 0)
            return i;
    return n;
}

static int
diff(const ch_report_item *before, size_t nb, const ch_report_item *after, size_t na,
     ch_report_item *out, size_t cap)
{
    size_t n = 0, hint = 0;
    for (size_t i = 0; i < na; i++) {
        size_t j = find_from(before, nb, after[i].key, hint);
        int64_t d = after[i].value - (j < nb ? before[j].value : 0);
        if (j < nb)
            hint = j + 1;
        if (!d)
            continue;
        if (n == cap)
            return CH_EINVAL;
        out[n] = after[i];
        out[n++].value = d;
    }
    hint = 0;
    for (size_t i = 0; i < nb; i++) {
        size_t k = find_from(after, na, before[i].key, hint);
        if (k < na) {
            hint = k + 1;
            continue;
        }
        if (n == cap)
            return CH_EINVAL;
        out[n] = before[i];
        out[n++].value = -before[i].value;
    }
    return (int)n;
}

/* Computes the deltas from *rc to *next and, on success, makes *next the case. */
static int
step(const ch_org_clocks *oc, ch_report_case *rc, const ch_report_case *next, ch_report_item *delta,
     size_t cap)
{
    ch_report_item *before = malloc(2 * CH_REPORT_MAX_ITEMS * sizeof(*before));
    if (!before)
        return CH_ENOMEM;
    ch_report_item *after = before + CH_REPORT_MAX_ITEMS;
    int nb = ch_report_contrib(oc, rc, before, CH_REPORT_MAX_ITEMS);
    int na = nb < 0 ? nb : ch_report_contrib(oc, next, after, CH_REPORT_MAX_ITEMS);
    int n = na < 0 ? na : diff(before, (size_t)nb, after, (size_t)na, delta, cap);
    free(before);
    if (n >= 0)
        *rc = *next;
    return n;
}

static uint64_t
fnv1a(const char *s, uint64_t h)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static ch_report_support
support_kind(const char *kind)
{
    if (!kind)
        return CH_REPORT_SUPPORT_OTHER;
    if (strcmp(kind, "interpreting_call") == 0)
        return CH_REPORT_SUPPORT_PHONE_INTERPRETING;
    if (strcmp(kind, "interpreting_session") == 0)
        return CH_REPORT_SUPPORT_FACE_TO_FACE_INTERPRETING;
    for (int k = 0; k < CH_REPORT_SUPPORT_OTHER; k++)
        if (strcmp(kind, support_names[k]) == 0)
            return (ch_report_support)k;
    return CH_REPORT_SUPPORT_OTHER;
}

static void
count_support(ch_report_case *rc, const Charter__V1__CaseEvent *ev)
{
    uint64_t h = fnv1a(ev->event_id ? ev->event_id : "", 14695981039346656037ULL);
    if (!ev->event_id || !ev->event_id[0]) {
        char at[32];
        snprintf(at, sizeof(at), "@%lld", (long long)ms_of(ev->occurred_at));
        h = fnv1a(at,
                  fnv1a(ev->communication_support->kind ? ev->communication_support->kind : "", h));
    }
    for (size_t i = 0; i < rc->ncounted; i++)
        if (rc->counted[i] == h)
            return;
    if (rc->ncounted == CH_REPORT_MAX_COUNTED)
        return;
    rc->counted[rc->ncounted++] = h;
    rc->support[support_kind(ev->communication_support->kind)]++;
}

/* The appointment's latest status by event time; at equal times the later
 * status in the enum, so the order records arrive in does not matter. */
static void
note_appointment(ch_report_case *rc, const Charter__V1__Appointment *a, int64_t at)
{
    uint64_t id = fnv1a(a->appointment_id ? a->appointment_id : "", 14695981039346656037ULL);
    size_t i = 0;
    while (i < rc->nappts && rc->appts[i].id != id)
        i++;
    if (i == rc->nappts) {
        if (rc->nappts == CH_REPORT_MAX_APPOINTMENTS)
            return;
        memset(&rc->appts[i], 0, sizeof(rc->appts[i]));
        rc->appts[i].id = id;
        rc->nappts++;
    }
    ch_report_appointment *ap = &rc->appts[i];
    if (a->status == CHARTER__V1__APPOINTMENT__STATUS__STATUS_REBOOKED)
        ap->rebooked = 1;
    if (at > ap->at_ms || (at == ap->at_ms && (int32_t)a->status > ap->status)) {
        ap->at_ms = at;
        ap->status = (int32_t)a->status;
        ap->by_org = a->status == CHARTER__V1__APPOINTMENT__STATUS__STATUS_CANCELLED &&
                     a->cancelled_by && strcmp(a->cancelled_by, "organisation") == 0;
    }
}

/* A review at `at`, kept in time order; a second record at the same instant
 * is the same review (lifted wins). */
static void
note_review(ch_report_case *rc, int64_t at, int lifted)
{
    size_t i = 0;
    while (i < rc->nreviews && rc->reviews[i].at_ms < at)
        i++;
    if (i < rc->nreviews && rc->reviews[i].at_ms == at) {
        rc->reviews[i].lifted |= lifted;
        return;
    }
    if (rc->nreviews == CH_REPORT_MAX_REVIEWS)
        return;
    memmove(&rc->reviews[i + 1], &rc->reviews[i], (rc->nreviews - i) * sizeof(rc->reviews[0]));
    memset(&rc->reviews[i], 0, sizeof(rc->reviews[i]));
    rc->reviews[i].at_ms = at;
    rc->reviews[i].lifted = lifted;
    rc->nreviews++;
}

int
ch_report_on_case_event(const ch_org_clocks *oc, ch_report_case *rc,
                        const Charter__V1__CaseEvent *ev, ch_report_item *delta, size_t cap)
{
    ch_report_case next = *rc;
    if (ch_case_apply(oc, &next.clock, ev) < 0)
        return CH_EINVAL;
    int64_t at = ms_of(ev->occurred_at);
    switch (ev->event_case) {
    case CHARTER__V1__CASE_EVENT__EVENT_RECEIVED:
        next.received_ms = at;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_RESPONDED:
        next.responded_ms = earliest(next.responded_ms, at);
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_VISIT:
        if (ev->visit->status == CHARTER__V1__VISIT__STATUS__STATUS_SEEN) {
            next.seen_ms = earliest(next.seen_ms, at);
            next.visit_resolved |= ev->visit->resolved_first_time ? 1 : 0;
        } else if (ev->visit->status == CHARTER__V1__VISIT__STATUS__STATUS_LEFT_UNSEEN)
            next.left_unseen = 1;
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_CALL: {
        const Charter__V1__Call *c = ev->call;
        int final = c->status == CHARTER__V1__CALL__STATUS__STATUS_ANSWERED ||
                    c->status == CHARTER__V1__CALL__STATUS__STATUS_ABANDONED;
        if (final &&
            (at > next.call_ms || (at == next.call_ms && (int)c->status > next.call_status))) {
            next.call_ms = at;
            next.call_status = (int)c->status;
            next.call_wait_s = c->wait_seconds;
            next.call_rings = c->rings;
            next.call_resolved = c->resolved_first_time ? 1 : 0;
        }
        break;
    }
    case CHARTER__V1__CASE_EVENT__EVENT_ACKNOWLEDGED:
        next.acked_ms = earliest(next.acked_ms, at);
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_APPOINTMENT:
        note_appointment(&next, ev->appointment, at);
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_REVIEWED:
        if (ev->reviewed->outcome != CHARTER__V1__REVIEWED__OUTCOME__OUTCOME_KEPT &&
            ev->reviewed->outcome != CHARTER__V1__REVIEWED__OUTCOME__OUTCOME_LIFTED)
            return CH_EINVAL;
        note_review(&next, at,
                    ev->reviewed->outcome == CHARTER__V1__REVIEWED__OUTCOME__OUTCOME_LIFTED);
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_COMMUNICATION_SUPPORT:
        count_support(&next, ev);
        break;
    case CHARTER__V1__CASE_EVENT__EVENT_SATISFACTION: {
        const Charter__V1__Satisfaction *s = ev->satisfaction;
        if (!s->max_score || s->score > s->max_score)
            return CH_EINVAL;
        if (at > next.satisfaction_ms ||
            (at == next.satisfaction_ms && s->score > next.satisfaction_score)) {
            next.satisfaction_ms = at;
            next.satisfaction_score = s->score;
            next.satisfaction_max = s->max_score;
        }
        break;
    }
    default:
        break;
    }
    return step(oc, rc, &next, delta, cap);
}

int
ch_report_on_timer(const ch_org_clocks *oc, ch_report_case *rc, const Charter__V1__TimerFired *t,
                   ch_report_item *delta, size_t cap)
{
    ch_report_case next = *rc;
    if (t->kind == CHARTER__V1__TIMER_KIND__TIMER_KIND_ACKNOWLEDGEMENT_DUE)
        next.flags |= CH_REPORT_FIRED_ACK_DUE;
    else if (t->kind == CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH)
        next.flags |= CH_REPORT_FIRED_BREACH;
    else if (t->kind == CHARTER__V1__TIMER_KIND__TIMER_KIND_WAIT_EXCEEDED)
        next.flags |= CH_REPORT_FIRED_WAIT_EXCEEDED;
    else if (t->kind == CHARTER__V1__TIMER_KIND__TIMER_KIND_CALLBACK_DUE &&
             ms_of(t->due_at) > next.callback_fired_ms)
        next.callback_fired_ms = ms_of(t->due_at);
    else if ((t->kind == CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_DUE ||
              t->kind == CHARTER__V1__TIMER_KIND__TIMER_KIND_REVIEW_OVERDUE)) {
        uint32_t cycle = t->review ? t->review : t->tier; /* sla-timer numbered by tier first */
        if (cycle >= 1 && cycle <= 64)
            next.review_fired |= 1ULL << (cycle - 1);
    }
    return step(oc, rc, &next, delta, cap);
}

int
ch_report_on_outcome(const ch_org_clocks *oc, ch_report_case *rc,
                     const Charter__V1__NotificationOutcome *o, ch_report_item *delta, size_t cap)
{
    ch_report_case next = *rc;
    if (o->kind == CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_ACKNOWLEDGEMENT) {
        if (o->status == CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_SENT ||
            o->status == CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_DELIVERED) {
            next.flags |= CH_REPORT_NOTIFIED_ACK_SENT;
            next.ack_sent_ms = earliest(next.ack_sent_ms, ms_of(o->occurred_at));
        } else if (o->status == CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_FAILED) {
            next.flags |= CH_REPORT_NOTIFIED_ACK_FAILED;
        }
    }
    return step(oc, rc, &next, delta, cap);
}

int
ch_report_overdue_at(const ch_org_clocks *oc, const ch_report_case *rc, int64_t now_ms,
                     int64_t *due_ms)
{
    const ch_case_state *st = &rc->clock;
    *due_ms = 0;
    if (!oc || !rc->received_ms || rc->responded_ms || st->closed || st->escalated)
        return 0;
    int64_t target = 0, wait = 0, unused;
    ch_case_state v = *st;
    v.paused_since_ms = 0;
    if (timer_due(oc, &v, CHARTER__V1__TIMER_KIND__TIMER_KIND_BREACH, &unused, &target) != 0)
        return CH_EINVAL;
    if (!rc->seen_ms && !rc->left_unseen &&
        timer_due(oc, &v, CHARTER__V1__TIMER_KIND__TIMER_KIND_WAIT_EXCEEDED, &wait, NULL) != 0)
        return CH_EINVAL;
    *due_ms = target ? target : wait;
    if (st->paused_since_ms || !*due_ms)
        return 0;
    return now_ms > *due_ms ? 1 : 0;
}

/* The case's day, channel and type, or CH_ENOTFOUND before its `received`. */
static int
case_bucket_parts(const ch_org_clocks *oc, const ch_report_case *rc, char day[16],
                  const char **channel, const char **type)
{
    if (!rc->received_ms)
        return CH_ENOTFOUND;
    ch_report_period(ch_tz_local_day(oc ? oc->tz : NULL, rc->received_ms), CH_REPORT_DAY, day, 16);
    *channel = rc->clock.channel[0] ? rc->clock.channel : "unspecified";
    *type = rc->clock.case_type[0] ? rc->clock.case_type : "enquiry";
    return 0;
}

int
ch_report_case_bucket(const ch_org_clocks *oc, const ch_report_case *rc, char *buf, size_t bufsz)
{
    char day[16];
    const char *channel, *type;
    if (case_bucket_parts(oc, rc, day, &channel, &type) != 0)
        return CH_ENOTFOUND;
    /* the key prefix (report_keys.h) without its last '|' */
    if (ch_report_key_prefix(buf, bufsz, day, channel, type) == 0)
        buf[strlen(buf) - 1] = '\0';
    return 0;
}

int
ch_report_open_entry(const ch_org_clocks *oc, const ch_report_case *rc, const char *case_id,
                     char *member, size_t membersz, int64_t *due_ms)
{
    char day[16];
    const char *channel, *type;
    *due_ms = 0;
    if (case_bucket_parts(oc, rc, day, &channel, &type) != 0)
        return CH_ENOTFOUND;
    if (ch_report_key_format(member, membersz, day, channel, type, case_id) != 0)
        return CH_EINVAL;
    int64_t due = 0;
    int open = !rc->responded_ms && !rc->clock.closed && !rc->clock.escalated;
    if (open && ch_report_overdue_at(oc, rc, 0, &due) >= 0 && due > 0 &&
        !rc->clock.paused_since_ms) {
        *due_ms = due;
        return 1;
    }
    return 0;
}
