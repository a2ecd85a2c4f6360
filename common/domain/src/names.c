/*
 * Names of protobuf enum values, derived from protobuf-c's own descriptors
 * rather than hand tables, so a value added to a .proto file has its name
 * here at once and no table can disagree with the schema.
 */
#include "charter/names.h"

#include <ctype.h>
#include <pthread.h>
#include <string.h>

#include "charter/policy.h"

/* The policy's channel enum mirrors the protobuf one value for value, so a
 * cast between them is exact; these keep the two in step. */
_Static_assert((int)CH_POLICY_CHANNEL_PHONE == (int)CHARTER__V1__CHANNEL__CHANNEL_PHONE, "channel");
_Static_assert((int)CH_POLICY_CHANNEL_VOICEMAIL == (int)CHARTER__V1__CHANNEL__CHANNEL_VOICEMAIL,
               "channel");
_Static_assert((int)CH_POLICY_CHANNEL_EMAIL == (int)CHARTER__V1__CHANNEL__CHANNEL_EMAIL, "channel");
_Static_assert((int)CH_POLICY_CHANNEL_LETTER == (int)CHARTER__V1__CHANNEL__CHANNEL_LETTER,
               "channel");
_Static_assert((int)CH_POLICY_CHANNEL_ONLINE_FORM == (int)CHARTER__V1__CHANNEL__CHANNEL_ONLINE_FORM,
               "channel");
_Static_assert((int)CH_POLICY_CHANNEL_SOCIAL == (int)CHARTER__V1__CHANNEL__CHANNEL_SOCIAL,
               "channel");
_Static_assert((int)CH_POLICY_CHANNEL_VISIT == (int)CHARTER__V1__CHANNEL__CHANNEL_VISIT, "channel");
_Static_assert((int)CH_POLICY_CHANNEL_SMS == (int)CHARTER__V1__CHANNEL__CHANNEL_SMS, "channel");
_Static_assert((int)CH_POLICY_CHANNEL_COUNT == (int)CHARTER__V1__CHANNEL__CHANNEL_SMS + 1,
               "channel");

/* Each enum's names, lower-cased without the value prefix, built once per
 * process on first use (pthread_once, so a first call from any thread is
 * safe); after that the tables are only read. */
#define NAME_MAX_LEN 40
#define NAMES_MAX 24

typedef struct {
    const ProtobufCEnumDescriptor *d;
    size_t prefix; /* bytes of "CHANNEL_" etc. to strip */
    int nvalues;
    int values[NAMES_MAX];
    char names[NAMES_MAX][NAME_MAX_LEN];
} enum_names;

static void
names_build(enum_names *t)
{
    for (unsigned i = 0; i < t->d->n_values && i < NAMES_MAX; i++) {
        const char *n = t->d->values[i].name + t->prefix;
        size_t k = 0;
        for (; n[k] && k + 1 < NAME_MAX_LEN; k++)
            t->names[i][k] = (char)tolower((unsigned char)n[k]);
        t->names[i][k] = '\0';
        t->values[i] = t->d->values[i].value;
        t->nvalues = (int)i + 1;
    }
}

static enum_names channels = {.d = &charter__v1__channel__descriptor,
                              .prefix = sizeof("CHANNEL_") - 1};
static enum_names timer_kinds = {.d = &charter__v1__timer_kind__descriptor,
                                 .prefix = sizeof("TIMER_KIND_") - 1};
static enum_names statuses = {.d = &charter__v1__notification_outcome__status__descriptor,
                              .prefix = sizeof("STATUS_") - 1};
static pthread_once_t built = PTHREAD_ONCE_INIT;

static void
build_all(void)
{
    names_build(&channels);
    names_build(&timer_kinds);
    names_build(&statuses);
}

static const char *
names_of(enum_names *t, int v, const char *unknown)
{
    pthread_once(&built, build_all);
    for (int i = 0; i < t->nvalues; i++)
        if (t->values[i] == v)
            return t->names[i];
    return unknown;
}

const char *
ch_channel_name(Charter__V1__Channel ch)
{
    return names_of(&channels, (int)ch, "unspecified");
}

Charter__V1__Channel
ch_channel_from_name(const char *name)
{
    pthread_once(&built, build_all);
    for (int i = 0; i < channels.nvalues; i++)
        if (channels.values[i] != CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED &&
            strcmp(channels.names[i], name) == 0)
            return (Charter__V1__Channel)channels.values[i];
    return CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED;
}

const char *
ch_timer_kind_name(Charter__V1__TimerKind k)
{
    if (k == CHARTER__V1__TIMER_KIND__TIMER_KIND_UNSPECIFIED)
        return "unknown";
    return names_of(&timer_kinds, (int)k, "unknown");
}

const char *
ch_case_event_name(Charter__V1__CaseEvent__EventCase c)
{
    const ProtobufCMessageDescriptor *d = &charter__v1__case_event__descriptor;
    if (c == CHARTER__V1__CASE_EVENT__EVENT__NOT_SET)
        return "unknown";
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)c);
    return f && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ? f->name : "unknown";
}

const char *
ch_outcome_status_name(Charter__V1__NotificationOutcome__Status s)
{
    if (s == CHARTER__V1__NOTIFICATION_OUTCOME__STATUS__STATUS_UNSPECIFIED)
        return "unknown";
    return names_of(&statuses, (int)s, "unknown");
}
