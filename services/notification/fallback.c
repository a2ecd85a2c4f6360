/*
 * A receipt's plan (fallback.h): the status decides the step, render.c's
 * channel order decides where a fallback goes, so a fallback and a first
 * notice can never disagree about the order.
 */
#include "fallback.h"

#include <stdio.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/v1/notification.pb-c.h"
#include "render.h"

#define R(x) CHARTER__V1__DELIVERY_RECEIPT__STATUS__STATUS_##x

const char *
notify_receipt_status_name(int status)
{
    switch (status) {
    case R(DELIVERED):
        return "delivered";
    case R(PERMANENT_FAILURE):
        return "permanent-failure";
    case R(TEMPORARY_FAILURE):
        return "temporary-failure";
    case R(TECHNICAL_FAILURE):
        return "technical-failure";
    default:
        return NULL;
    }
}

void
notify_receipt_root(const char *what, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "%s", what);
    char *slash = strrchr(buf, '/');
    if (slash && (strncmp(slash + 1, "fallback", 8) == 0 || strncmp(slash + 1, "resend-", 7) == 0))
        *slash = '\0';
}

/* 1 when `what` names a resend. */
static int
is_resend(const char *what)
{
    const char *slash = strrchr(what, '/');
    return slash && strncmp(slash + 1, "resend-", 7) == 0;
}

/* `list` without `name` (comma-separated) into buf. */
static void
without(const char *list, const char *name, char *buf, size_t bufsz)
{
    size_t n = strlen(name), used = 0;
    buf[0] = '\0';
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len && !(len == n && strncmp(p, name, n) == 0) && used + len + 2 < bufsz) {
            used +=
                (size_t)snprintf(buf + used, bufsz - used, "%s%.*s", used ? "," : "", (int)len, p);
        }
        p = e ? e + 1 : NULL;
    }
}

int
notify_receipt_plan_make(int status, const char *what, const char *channel, const char *tried,
                         const char *provider_reason, const ch_org_clocks *oc,
                         const notify_contact *c, notify_receipt_plan *out)
{
    memset(out, 0, sizeof(*out));
    out->status = notify_receipt_status_name(status);
    if (!out->status)
        return CH_EINVAL;
    const char *words = provider_reason && provider_reason[0] ? provider_reason : "none given";
    if (status == R(DELIVERED)) {
        out->step = NOTIFY_RECEIPT_DELIVERED;
        return 0;
    }
    if (!tried || !tried[0])
        tried = channel;
    char root[160];
    notify_receipt_root(what, root, sizeof(root));
    if (!c) {
        out->step = NOTIFY_RECEIPT_FAILED;
        snprintf(out->reason, sizeof(out->reason),
                 "%s on %s; no fallback: the customer's details are no longer kept (the case "
                 "closed) or it was not a customer's notice; provider: %s",
                 out->status, channel, words);
        return 0;
    }
    const char *next = NULL;
    if (status == R(TECHNICAL_FAILURE) && !is_resend(what)) {
        without(tried, channel, out->skip, sizeof(out->skip));
        next = notify_customer_channel(oc, c, NULL, out->skip);
        if (next && strcmp(next, channel) == 0) {
            out->step = NOTIFY_RECEIPT_RESEND;
            out->channel = next;
            snprintf(out->tried, sizeof(out->tried), "%s", tried);
            snprintf(out->what, sizeof(out->what), "%s/resend-%s", root, next);
            snprintf(out->reason, sizeof(out->reason), "%s on %s; sent again by %s; provider: %s",
                     out->status, channel, next, words);
            snprintf(out->note, sizeof(out->note), "resent after %s on %s", out->status, channel);
            return 0;
        }
        /* the channel is no longer one they can get: fall back instead */
    }
    out->step = NOTIFY_RECEIPT_FALLBACK;
    snprintf(out->skip, sizeof(out->skip), "%s", tried);
    out->channel = notify_customer_channel(oc, c, NULL, out->skip);
    snprintf(out->note, sizeof(out->note), "fallback after %s on %s", out->status, channel);
    if (out->channel) {
        snprintf(out->tried, sizeof(out->tried), "%s,%s", tried, out->channel);
        snprintf(out->what, sizeof(out->what), "%s/fallback-%s", root, out->channel);
        snprintf(out->reason, sizeof(out->reason), "%s on %s; fell back to %s; provider: %s",
                 out->status, channel, out->channel, words);
    } else {
        snprintf(out->tried, sizeof(out->tried), "%s", tried);
        snprintf(out->what, sizeof(out->what), "%s/fallback", root);
        snprintf(out->reason, sizeof(out->reason),
                 "%s on %s; no channel left: staff told; provider: %s", out->status, channel,
                 words);
    }
    return 0;
}
