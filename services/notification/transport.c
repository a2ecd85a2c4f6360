/*
 * What the service asks of the transport table: a name to a slot, the
 * setting's allowed values (written from the table, so a new transport
 * appears in the errors by itself), and the message as a NotificationRequest
 * for whoever carries it onward.
 */
#include "transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/names.h"
#include "charter/v1/notification.pb-c.h"

unsigned
notify_channel_bit(const char *channel)
{
    if (strcmp(channel, "email") == 0)
        return NOTIFY_CH_EMAIL;
    if (strcmp(channel, "sms") == 0)
        return NOTIFY_CH_SMS;
    if (strcmp(channel, "social") == 0)
        return NOTIFY_CH_SOCIAL;
    if (strcmp(channel, "letter") == 0)
        return NOTIFY_CH_LETTER;
    return NOTIFY_CH_OTHER;
}

int
notify_transport_table_check(const notify_transport *const *table, char *errstr, size_t errstr_size)
{
    size_t n = 0;
    for (; table[n]; n++) {
        const notify_transport *t = table[n];
        if (n >= NOTIFY_MAX_TRANSPORTS) {
            snprintf(errstr, errstr_size, "more than %d transports", NOTIFY_MAX_TRANSPORTS);
            return CH_EINVAL;
        }
        if (!t->name || !t->name[0]) {
            snprintf(errstr, errstr_size, "transport %zu has no name", n + 1);
            return CH_EINVAL;
        }
        if (!t->check || !t->init || !t->send || !t->fini) {
            snprintf(errstr, errstr_size, "transport %s lacks one of check, init, send, fini",
                     t->name);
            return CH_EINVAL;
        }
        if (t->config_size && !t->config) {
            snprintf(errstr, errstr_size, "transport %s has a config struct but no keys", t->name);
            return CH_EINVAL;
        }
        if (!t->channels) {
            snprintf(errstr, errstr_size, "transport %s carries no channel", t->name);
            return CH_EINVAL;
        }
        for (size_t i = 0; i < n; i++)
            if (strcmp(table[i]->name, t->name) == 0) {
                snprintf(errstr, errstr_size, "two transports are named %s", t->name);
                return CH_EINVAL;
            }
    }
    return 0;
}

int
notify_transport_find(const notify_transport *const *table, const char *name)
{
    for (int i = 0; table[i]; i++)
        if (strcmp(table[i]->name, name) == 0)
            return i;
    return -1;
}

int
notify_transport_carrying(const notify_transport *const *table, unsigned channel)
{
    for (int i = 0; table[i]; i++)
        if (table[i]->channels & channel)
            return i;
    return -1;
}

/* "smtp, http, kafka or file": the transports that carry `channel`. */
static void
allowed(const notify_transport *const *table, unsigned channel, char *buf, size_t bufsz)
{
    size_t n = 0, k = 0, used = 0;
    for (size_t i = 0; table[i]; i++)
        n += (table[i]->channels & channel) != 0;
    buf[0] = '\0';
    for (size_t i = 0; table[i] && used < bufsz; i++) {
        if (!(table[i]->channels & channel))
            continue;
        k++;
        const char *sep = k == 1 ? "" : k == n ? " or " : ", ";
        int w = snprintf(buf + used, bufsz - used, "%s%s", sep, table[i]->name);
        used += w > 0 ? (size_t)w : 0;
    }
}

int
notify_transport_pick(const notify_transport *const *table, const char *key, const char *name,
                      unsigned channel, char *errstr, size_t errstr_size)
{
    char ok[256];
    allowed(table, channel, ok, sizeof(ok));
    int slot = notify_transport_find(table, name);
    if (slot < 0) {
        snprintf(errstr, errstr_size, "%s%s'%s' is not a transport (expected %s)", key ? key : "",
                 key ? ": " : "", name, ok);
        return CH_EINVAL;
    }
    if (!(table[slot]->channels & channel)) {
        snprintf(errstr, errstr_size, "%s cannot be %s (%s)", key, name, ok);
        return CH_EINVAL;
    }
    return slot;
}

int
notify_transport_no_check(const void *cfg, const notify_transport_use *use, char *errstr,
                          size_t errstr_size)
{
    (void)cfg;
    (void)use;
    (void)errstr;
    (void)errstr_size;
    return 0;
}

void
notify_message_request(const notify_message *m, Charter__V1__NotificationRequest *rq)
{
    charter__v1__notification_request__init(rq);
    rq->notification_id = (char *)m->id;
    rq->case_id = (char *)m->case_id;
    rq->organisation = (char *)m->organisation;
    rq->kind = (Charter__V1__NotificationKind)m->kind;
    rq->channel = ch_channel_from_name(m->channel);
    rq->language = (char *)m->language;
    rq->template_id = (char *)m->kind_name;
    rq->reference = (char *)m->reference;
    rq->recipient_role = m->customer ? "customer" : "staff";
}

const void *
notify_transport_setting(const notify_transport *t, const void *cfg, const char *key)
{
    for (size_t i = 0; key && i < t->nconfig; i++)
        if (strcmp(t->config[i].key, key) == 0)
            return (const char *)cfg + t->config[i].offset;
    return NULL;
}

int
notify_transport_ctx_new(void **tctx, size_t size, const void *cfg, ch_runtime *rt, char *errstr,
                         size_t errstr_size)
{
    notify_transport_ctx *c = calloc(1, size);
    if (!c) {
        snprintf(errstr, errstr_size, "out of memory");
        return CH_ENOMEM;
    }
    *c = (notify_transport_ctx){cfg, rt};
    *tctx = c;
    return 0;
}

int
notify_organisation_path_ok(const char *organisation)
{
    size_t n = organisation ? strlen(organisation) : 0;
    if (n == 0 || n > 100 || organisation[0] == '.' || strstr(organisation, ".."))
        return 0;
    for (const unsigned char *p = (const unsigned char *)organisation; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
            return 0;
    return 1;
}
