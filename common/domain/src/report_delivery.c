/* Delivery per channel from the outcomes (see report_delivery.h). */
#include "charter/report_delivery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/civil.h"
#include "charter/names.h"

#define K(x) CHARTER__V1__NOTIFICATION_KIND__NOTIFICATION_KIND_##x
#define S(x) CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_##x

/* The channels in the order they are shown; others follow by name. */
static const char *const order[] = {"sms", "email", "social", "letter"};

static int
customer_kind(int kind)
{
    return kind == K(ACKNOWLEDGEMENT) || kind == K(HOLDING_REPLY) ||
           kind == K(APPOINTMENT_CONFIRMATION) || kind == K(APPOINTMENT_REMINDER) ||
           kind == K(APPOINTMENT_CANCELLED);
}

/* A receipt's failure reason: "<x>-failure on <channel>; <what was done>...".
 * Returns 1, with *fell_back, when reason is one. */
static int
receipt_failure(const char *reason, const char *channel, int *fell_back)
{
    static const char *const status[] = {"permanent-failure on ", "temporary-failure on ",
                                         "technical-failure on "};
    *fell_back = 0;
    for (size_t i = 0; i < sizeof(status) / sizeof(status[0]); i++) {
        size_t n = strlen(status[i]), c = strlen(channel);
        if (strncmp(reason, status[i], n) != 0 || strncmp(reason + n, channel, c) != 0 ||
            strncmp(reason + n + c, "; ", 2) != 0)
            continue;
        *fell_back = strncmp(reason + n + c + 2, "fell back to ", 13) == 0;
        return 1;
    }
    return 0;
}

size_t
ch_report_delivery_names(const Charter__V1__NotificationOutcome *o,
                         char (*names)[CH_REPORT_DELIVERY_NAME_MAX])
{
    if (!customer_kind(o->kind) || !o->occurred_at)
        return 0;
    const char *channel = ch_channel_name(o->channel);
    const char *what[2] = {NULL, NULL};
    int fell_back = 0;
    if (o->status == S(SENT))
        what[0] = "sent";
    else if (o->status == S(DELIVERED))
        what[0] = "delivered";
    else if (o->status == S(FAILED) && o->reason && receipt_failure(o->reason, channel, &fell_back))
        what[0] = "failed", what[1] = fell_back ? "fell_back" : NULL;
    if (!what[0])
        return 0;
    int y, m, d;
    ch_civil_from_day(ch_civil_day_of(o->occurred_at->seconds), &y, &m, &d);
    size_t n = 0;
    for (int i = 0; i < 2 && what[i]; i++)
        snprintf(names[n++], CH_REPORT_DELIVERY_NAME_MAX, "delivery.%04d-%02d.%s.%s", y, m, channel,
                 what[i]);
    return n;
}

static int
rank(const char *channel)
{
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (strcmp(channel, order[i]) == 0)
            return (int)i;
    return (int)(sizeof(order) / sizeof(order[0]));
}

static int
row_cmp(const void *a, const void *b)
{
    const ch_report_delivery_row *x = a, *y = b;
    int rx = rank(x->channel), ry = rank(y->channel);
    return rx != ry ? rx - ry : strcmp(x->channel, y->channel);
}

/* How much of a bound a month is compared with: a year's 4, a month's or
 * a day's 7 (a day counts its whole month). */
static size_t
bound_len(const char *b)
{
    size_t n = strlen(b);
    return n < 7 ? n : 7;
}

void
ch_report_delivery_sum(const ch_report_table *t, const char *from, const char *to,
                       ch_report_delivery *out)
{
    memset(out, 0, sizeof(*out));
    ch_report_table d = ch_report_table_prefix(t, "delivery.");
    for (size_t i = 0; i < d.n; i++) {
        const char *key = d.items[i].key + 9; /* "<month>.<channel>.<what>" */
        const char *dot1 = strchr(key, '.'), *dot2 = dot1 ? strrchr(key, '.') : NULL;
        if (!dot1 || dot2 == dot1 || dot1 - key != 7)
            continue;
        if ((from && from[0] && strncmp(key, from, bound_len(from)) < 0) ||
            (to && to[0] && strncmp(key, to, bound_len(to)) > 0))
            continue;
        char channel[sizeof(out->rows[0].channel)];
        snprintf(channel, sizeof(channel), "%.*s", (int)(dot2 - dot1 - 1), dot1 + 1);
        size_t r = 0;
        while (r < out->n && strcmp(out->rows[r].channel, channel) != 0)
            r++;
        if (r == out->n) {
            if (out->n == CH_REPORT_DELIVERY_CHANNELS)
                continue;
            snprintf(out->rows[out->n++].channel, sizeof(channel), "%s", channel);
        }
        ch_report_delivery_row *row = &out->rows[r];
        int64_t v = d.items[i].value;
        const char *w = dot2 + 1;
        if (strcmp(w, "sent") == 0)
            row->sent += v;
        else if (strcmp(w, "delivered") == 0)
            row->delivered += v;
        else if (strcmp(w, "failed") == 0)
            row->failed += v;
        else if (strcmp(w, "fell_back") == 0)
            row->fell_back += v;
    }
    qsort(out->rows, out->n, sizeof(out->rows[0]), row_cmp);
}

double
ch_report_delivery_rate(const ch_report_delivery_row *r)
{
    int64_t heard = r->delivered + r->failed;
    return heard > 0 ? 100.0 * (double)r->delivered / (double)heard : -1;
}

const char *
ch_report_delivery_words(const char *channel)
{
    return strcmp(channel, "sms") == 0      ? "text message"
           : strcmp(channel, "email") == 0  ? "email"
           : strcmp(channel, "social") == 0 ? "social media reply"
           : strcmp(channel, "letter") == 0 ? "letter"
                                            : channel;
}
