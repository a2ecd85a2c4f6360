/*
 * The core keys and the layout of every transport's keys after them (see
 * config.h). A transport's offsets are relative to its own struct; here
 * they are moved to where that struct sits in the block the runtime fills.
 */
#include "config.h"

#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"
#include "charter/topics.h"

/* The row of notify.<channel>.transport, a transport's name (file by default). */
#define ROUTE_KEY(field, channel, help_)                                                           \
    CH_CFG_STR(notify_config, field, "notify." channel ".transport", "file", help_)

static const ch_config_entry core_keys[] = {
    CH_CFG_STR(notify_config, outcomes_topic, "notify.outcomes_topic", CH_TOPIC_NOTIFY_OUTCOMES,
               "topic notification outcomes are written to"),
    CH_CFG_STR(notify_config, receipts_topic, "notify.receipts_topic", CH_TOPIC_NOTIFY_RECEIPTS,
               "topic of providers' delivery receipts (Notify callbacks, bounces) to read: a "
               "notice becomes delivered or failed, and a failed customer notice falls back to "
               "their next channel"),
    CH_CFG_STR(notify_config, timezone, "notify.timezone", "Europe/London",
               "time zone dates are written in for an organisation without a loaded policy"),
    CH_CFG_STR(notify_config, template_dir, "notify.template_dir", "",
               "directory of message templates (templates/README.md); empty: a built-in plain "
               "acknowledgement, for development"),
    CH_CFG_STR(notify_config, policy_dir, "notify.policy_dir", "",
               "directory of *.yaml policies (as sla.policy_dir): time zones, alert roles, reply "
               "channel rules, SMS quiet hours; empty: none"),
    ROUTE_KEY(email_transport, "email",
              "how customer email goes: smtp, http (Notify-style gateway), kafka (hand-off topic) "
              "or file"),
    ROUTE_KEY(sms_transport, "sms", "how text messages go: http, kafka or file"),
    ROUTE_KEY(social_transport, "social",
              "how social media replies go: meta (Meta's Send API), http, kafka or file"),
    ROUTE_KEY(staff_transport, "staff", "how staff alerts go: file, smtp, http or kafka"),
    CH_CFG_STR(notify_config, letter_transport, "notify.letter.transport", "print",
               "how letters go: print (a print queue the operator collects) or file"),
    CH_CFG_STR(notify_config, staff_email, "notify.staff.email", "{role}@localhost",
               "staff alert address; {role} becomes the policy role (owner, team_lead, ...)"),
    CH_CFG_STR(notify_config, dlq_topic, "notify.dlq_topic", CH_TOPIC_DLQ,
               "where notifications that failed for good are dead-lettered"),
    CH_CFG_INT(notify_config, max_in_flight, "notify.max_in_flight", "32", "sends running at once",
               1, 10000),
    CH_CFG_INT(notify_config, retry_base_ms, "notify.retry_base_ms", "5000",
               "first retry delay; doubles each time, with jitter", 1, 86400000),
    CH_CFG_INT(notify_config, retry_max_ms, "notify.retry_max_ms", "1800000", "longest retry delay",
               1, 86400000),
    CH_CFG_INT(notify_config, max_attempts, "notify.max_attempts", "10",
               "attempts (the retry budget) before a notification that keeps failing for a "
               "temporary reason is parked for an operator's replay (charterctl notify replay)",
               1, 1000),
    CH_CFG_INT(notify_config, lease_ms, "notify.lease_ms", "120000",
               "how long a claimed send is reserved; must exceed the transport timeouts (a crashed "
               "instance's sends are taken over after this)",
               1000, 3600000),
    CH_CFG_INT(notify_config, contact_wait_ms, "notify.contact_wait_ms", "600000",
               "how long after a timer fired (or a notice was ingested) its case's contact "
               "details may still be on their way once the contacts topic is caught up; while "
               "notification's consumer is behind on that topic it waits longer (up to "
               "notify.contact_wait_max_ms)",
               1000, 86400000),
    CH_CFG_INT(notify_config, contact_wait_max_ms, "notify.contact_wait_max_ms", "86400000",
               "the longest a notification waits for its case's contact details while the "
               "contacts topic is behind (default a day); the record's offset is not committed "
               "meanwhile, so keep it well inside the topics' retention",
               1000, 2592000000LL),
    CH_CFG_INT(notify_config, shutdown_grace_ms, "notify.shutdown_grace_ms", "20000",
               "on SIGTERM, how long sends already under way may take to finish before they are "
               "cut off (keep it below systemd's TimeoutStopSec, 30 s in our units)",
               0, 600000),
    CH_CFG_INT(notify_config, recipient_max_per_day, "notify.recipient_max_per_day", "10",
               "customer notices sent to one address or number on one channel per UTC day, "
               "counted across instances in Redis; more fail as \"recipient limit\" (staff "
               "alerts are not limited; 0: no limit)",
               0, 1000000),
    CH_CFG_INT(notify_config, contact_ttl_days, "notify.contact_ttl_days", "400",
               "how long a case's contact details (name, address, number, language) are kept in "
               "Redis after the case's last contact event; notices for a case whose details "
               "expired go nowhere (keep it longer than your longest case)",
               1, 3650),
    CH_CFG_INT(notify_config, record_ttl_days, "notify.record_ttl_days", "400",
               "how long a notification's record (sent, failed, ...: no personal data) is kept, "
               "so a replayed event never sends it twice (keep it longer than the topics' "
               "retention and your longest case)",
               1, 3650),
    CH_CFG_INT(notify_config, job_ttl_days, "notify.job_ttl_days", "30",
               "how long a queued or parked notice's job, holding the rendered message and its "
               "recipient, is kept; a parked notice older than this cannot be replayed",
               1, 3650),
};

enum { NCORE = CH_COUNTOF(core_keys) };

static size_t
align_up(size_t n)
{
    size_t a = alignof(max_align_t);
    return (n + a - 1) / a * a;
}

/* Where transport `slot`'s struct starts; with slot == the table's length,
 * the size of the whole block. */
static size_t
offset_of(const notify_transport *const *table, size_t slot)
{
    size_t off = align_up(sizeof(notify_config));
    for (size_t i = 0; i < slot && table[i]; i++)
        off = align_up(off + table[i]->config_size);
    return off;
}

/* The routes named by notify.<channel>.transport: the field (its key is
 * core_keys' row) and the channel its transport must carry (staff alerts
 * are email). */
static const struct {
    int route;
    size_t field;
    unsigned channel;
} routes[] = {
    {NOTIFY_ROUTE_EMAIL, offsetof(notify_config, email_transport), NOTIFY_CH_EMAIL},
    {NOTIFY_ROUTE_SMS, offsetof(notify_config, sms_transport), NOTIFY_CH_SMS},
    {NOTIFY_ROUTE_SOCIAL, offsetof(notify_config, social_transport), NOTIFY_CH_SOCIAL},
    {NOTIFY_ROUTE_STAFF, offsetof(notify_config, staff_transport), NOTIFY_CH_EMAIL},
    {NOTIFY_ROUTE_LETTER, offsetof(notify_config, letter_transport), NOTIFY_CH_LETTER},
};

/* The core key of the field at `offset`. */
static const char *
core_key(size_t offset)
{
    for (size_t i = 0; i < NCORE; i++)
        if (core_keys[i].offset == offset)
            return core_keys[i].key;
    return NULL;
}

int
notify_config_map_build(notify_config_map *map, const notify_transport *const *table,
                        ch_config_validate_fn validate_transport)
{
    size_t n = NCORE, nt = 0;
    for (; table[nt]; nt++)
        n += table[nt]->nconfig;
    memset(map, 0, sizeof(*map));
    map->entries = calloc(n, sizeof(*map->entries));
    if (!map->entries)
        return CH_ENOMEM;
    memcpy(map->entries, core_keys, sizeof(core_keys));
    for (size_t i = 0; i < NCORE; i++)
        for (size_t r = 0; r < CH_COUNTOF(routes); r++)
            if (map->entries[i].offset == routes[r].field)
                map->entries[i].validate = validate_transport;
    size_t k = NCORE;
    for (size_t i = 0; i < nt; i++) {
        size_t base = offset_of(table, i);
        for (size_t j = 0; j < table[i]->nconfig; j++) {
            map->entries[k] = table[i]->config[j];
            map->entries[k++].offset += base;
        }
    }
    map->nentries = n;
    map->size = offset_of(table, nt);
    return 0;
}

void
notify_config_map_free(notify_config_map *map)
{
    free(map->entries);
    memset(map, 0, sizeof(*map));
}

const void *
notify_config_section(const void *config, const notify_transport *const *table, size_t slot)
{
    return (const char *)config + offset_of(table, slot);
}

int
notify_config_routes(const notify_config *cfg, const notify_transport *const *table,
                     int route[NOTIFY_NROUTES], char *errstr, size_t errstr_size)
{
    for (size_t i = 0; i < CH_COUNTOF(routes); i++) {
        const char *name = *(char *const *)((const char *)cfg + routes[i].field);
        int slot = notify_transport_pick(table, core_key(routes[i].field), name ? name : "",
                                         routes[i].channel, errstr, errstr_size);
        if (slot < 0)
            return slot;
        route[routes[i].route] = slot;
    }
    route[NOTIFY_ROUTE_OTHER] = notify_transport_carrying(table, NOTIFY_CH_OTHER);
    if (route[NOTIFY_ROUTE_OTHER] < 0) {
        snprintf(errstr, errstr_size, "no transport carries letters and other channels");
        return CH_EINVAL;
    }
    return 0;
}
