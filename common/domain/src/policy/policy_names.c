/*
 * The policy format's words: channels, case types and days with the titles
 * the plain-English descriptions use, and the words of the keys whose value
 * is one of a few (organisation.kind, reporting.publish, reply_channel) or a
 * few of them (holding_reply.must_include, measures,
 * reporting.communication_support). They sit together so the vocabulary of
 * docs/policies.md can be checked against one file. Channels are numbered as
 * charter.v1.Channel (policy.h), so their names are names.c's, the one
 * spelling every service uses.
 */
#include "charter/policy.h"

#include <string.h>

#include "charter/errors.h"
#include "charter/names.h"
#include "policy_int.h"

/* A channel's name is charter.v1.Channel's (names.h), "any" for the wildcard;
 * its title is the policy's own. */
static const char *const channel_titles[CH_POLICY_CHANNEL_COUNT] = {
    "Any channel",          "Phone", "Voicemail",   "Email", "Letter", "Online form",
    "Social media message", "Visit", "Text message"};

static const struct {
    const char *name, *title;
} case_names[CH_POLICY_CASE_COUNT] = {
    {"any", "Any case"},
    {"enquiry", "Enquiry"},
    {"service_request", "Service request"},
    {"complaint_stage_1", "Complaint, stage 1"},
    {"complaint_stage_2", "Complaint, stage 2"},
    {"foi", "Freedom of Information request"},
    {"eir", "Environmental Information request"},
    {"sar", "Subject access request"},
    {"mp_enquiry", "MP or councillor enquiry"},
    {"legal_action", "Legal action"},
    {"restriction_review", "Home-visit restriction"},
    {"appointment", "Appointment"},
    {"home_visit", "Home visit"},
    {"contact_group", "Contact-group message"},
};

int
ch_policy_channel_parse(const char *name, ch_policy_channel *out)
{
    if (!name)
        return CH_EINVAL;
    if (strcmp(name, "any") == 0) {
        *out = CH_POLICY_CHANNEL_ANY;
        return 0;
    }
    Charter__V1__Channel c = ch_channel_from_name(name);
    if (c == CHARTER__V1__CHANNEL__CHANNEL_UNSPECIFIED)
        return CH_EINVAL;
    *out = (ch_policy_channel)c; /* numbered alike: names.c checks it */
    return 0;
}

const char *
ch_policy_channel_name(ch_policy_channel c)
{
    if (c == CH_POLICY_CHANNEL_ANY)
        return "any";
    if ((unsigned)c >= CH_POLICY_CHANNEL_COUNT)
        return "unknown";
    return ch_channel_name((Charter__V1__Channel)c);
}

const char *
ch_policy_channel_title(ch_policy_channel c)
{
    return (unsigned)c < CH_POLICY_CHANNEL_COUNT ? channel_titles[c] : "Unknown channel";
}

int
ch_policy_case_type_parse(const char *name, ch_policy_case_type *out)
{
    for (int i = 0; i < CH_POLICY_CASE_COUNT; i++)
        if (name && strcmp(name, case_names[i].name) == 0) {
            *out = (ch_policy_case_type)i;
            return 0;
        }
    return CH_EINVAL;
}

const char *
ch_policy_case_type_name(ch_policy_case_type t)
{
    return (unsigned)t < CH_POLICY_CASE_COUNT ? case_names[t].name : "unknown";
}

const char *
ch_policy_case_type_title(ch_policy_case_type t)
{
    return (unsigned)t < CH_POLICY_CASE_COUNT ? case_names[t].title : "Unknown case type";
}

static const char *const day_names[7] = {"monday", "tuesday",  "wednesday", "thursday",
                                         "friday", "saturday", "sunday"};
static const char *const day_titles[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                          "Friday", "Saturday", "Sunday"};

const char *
ch__policy_day_name(int day)
{
    return day_names[day];
}

const char *
ch__policy_day_title(int day)
{
    return day_titles[day];
}

/* ---- the words of keys whose value is one of a few, or a few of them ---- */

const ch__yaml_name ch__policy_org_kinds[] = {
    {"housing_landlord", CH_POLICY_KIND_HOUSING_LANDLORD},
    {"council", CH_POLICY_KIND_COUNCIL},
    {NULL, 0},
};

const ch__yaml_name ch__policy_periods[] = {
    {"monthly", CH_POLICY_PUBLISH_MONTHLY},
    {"quarterly", CH_POLICY_PUBLISH_QUARTERLY},
    {"yearly", CH_POLICY_PUBLISH_YEARLY},
    {NULL, 0},
};

const ch__yaml_name ch__policy_support_names[] = {
    {"phone_interpreting", CH_POLICY_SUPPORT_PHONE_INTERPRETING},
    {"face_to_face_interpreting", CH_POLICY_SUPPORT_FACE_TO_FACE_INTERPRETING},
    {"bsl", CH_POLICY_SUPPORT_BSL},
    {"audio", CH_POLICY_SUPPORT_AUDIO},
    {"large_print", CH_POLICY_SUPPORT_LARGE_PRINT},
    {"braille", CH_POLICY_SUPPORT_BRAILLE},
    {NULL, 0},
};

const ch__yaml_name ch__policy_reply_channels[] = {
    {"same_unless_asked", CH_POLICY_REPLY_SAME_UNLESS_ASKED},
    {"same", CH_POLICY_REPLY_SAME},
    {"preferred", CH_POLICY_REPLY_PREFERRED},
    {"email_or_sms", CH_POLICY_REPLY_EMAIL_OR_SMS},
    {NULL, 0},
};

const ch__yaml_name ch__policy_callbacks[] = {
    {"at_agreed_time", CH_POLICY_CALLBACK_AT_AGREED_TIME},
    {"measured_only", CH_POLICY_CALLBACK_MEASURED_ONLY},
    {NULL, 0},
};

const ch__yaml_name ch__policy_hold_names[] = {
    {"reason", CH_POLICY_HOLD_REASON},
    {"next_steps", CH_POLICY_HOLD_NEXT_STEPS},
    {"target_date", CH_POLICY_HOLD_TARGET_DATE},
    {"apology", CH_POLICY_HOLD_APOLOGY},
    {"named_contact", CH_POLICY_HOLD_NAMED_CONTACT},
    {NULL, 0},
};

const ch__yaml_name ch__policy_measure_names[] = {
    {"first_contact_resolution", CH_POLICY_MEASURE_FIRST_CONTACT_RESOLUTION},
    {"appointments_kept", CH_POLICY_MEASURE_APPOINTMENTS_KEPT},
    {"satisfaction", CH_POLICY_MEASURE_SATISFACTION},
    {"communication_support", CH_POLICY_MEASURE_COMMUNICATION_SUPPORT},
    {NULL, 0},
};
