/*
 * `charterctl deadline` without a policy, and `charterctl holidays`: the
 * engine for staff who want to know "when is this due?". Also the verdict
 * on a holding reply that `charterctl deadline --policy ... --extend-to`
 * asks about (ch_deadline_extension): the same check sla-timer and
 * reporting apply (charter/extension.h), printed with its reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/calendar.h"
#include "charter/deadline.h"
#include "charter/errors.h"
#include "charter/extension.h"
#include "charter/timeutil.h"
#include "charter/tz.h"
#include "charterctl.h"

#define MAX_PAUSE_ARGS 16

/* ISO 8601 with an offset; seconds may be left out ("2026-12-23T16:30Z"). */
static int
parse_instant(const char *s, int64_t *ms)
{
    if (ch_time_parse_rfc3339(s, ms) == 0)
        return 0;
    size_t len = strlen(s);
    if (len < 17 || len > 40 || s[13] != ':' || s[16] == ':')
        return -1;
    char buf[64];
    snprintf(buf, sizeof(buf), "%.16s:00%s", s, s + 16);
    return ch_time_parse_rfc3339(buf, ms);
}

static int
parse_date(const char *s, size_t len, int32_t *day)
{
    int y, m, d;
    char buf[16];
    if (len != 10)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (sscanf(buf, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 ||
        d > ch_days_in_month(y, m))
        return -1;
    *day = ch_day_from_civil(y, m, d);
    return 0;
}

static int
usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "charterctl deadline: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(try charterctl --help)\n");
    return 2;
}

int
ch_cmd_deadline(int argc, char **argv)
{
    const char *nation_s = NULL, *received_s = NULL, *rule = NULL, *statutory = NULL;
    const char *zone = "Europe/London";
    const char *pause_s[MAX_PAUSE_ARGS];
    size_t npause = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage_error("%s needs a value", a);
        if (!strcmp(a, "--calendar"))
            nation_s = v;
        else if (!strcmp(a, "--received"))
            received_s = v;
        else if (!strcmp(a, "--within"))
            rule = v;
        else if (!strcmp(a, "--statutory"))
            statutory = v;
        else if (!strcmp(a, "--timezone"))
            zone = v;
        else if (!strcmp(a, "--pause") && npause < MAX_PAUSE_ARGS)
            pause_s[npause++] = v;
        else
            return usage_error("unknown or repeated option '%s'", a);
        i++;
    }
    if (!nation_s || !received_s || (!rule == !statutory))
        return usage_error("%s", "needs --calendar, --received and one of --within or --statutory");
    ch_nation nation;
    if (ch_nation_parse(nation_s, &nation) != 0)
        return usage_error("--calendar '%s' is not england-and-wales, scotland, "
                           "northern-ireland or uk-any",
                           nation_s);
    int64_t received;
    if (parse_instant(received_s, &received) != 0)
        return usage_error("--received '%s' is not ISO 8601 with an offset "
                           "(e.g. 2026-12-23T16:30:00Z)",
                           received_s);
    char why[512];
    ch_clock clock;
    const char *text = rule ? rule : statutory;
    if (ch_clock_parse(text, &clock, why, sizeof(why)) != 0 || (statutory && !clock.preset[0])) {
        fprintf(stderr, "charterctl deadline: %s\n",
                statutory ? "--statutory must be one of foi, eir, foisa, sar, sar-extended" : why);
        return 2;
    }
    ch_tz *tz = ch_tz_load(zone, NULL, why, sizeof(why));
    if (!tz) {
        fprintf(stderr, "charterctl deadline: %s\n", why);
        return 1;
    }
    ch_pause pauses[MAX_PAUSE_ARGS];
    for (size_t i = 0; i < npause; i++) {
        const char *dots = strstr(pause_s[i], "..");
        int32_t from, to;
        if (!dots || parse_date(pause_s[i], (size_t)(dots - pause_s[i]), &from) ||
            parse_date(dots + 2, strlen(dots + 2), &to) || to < from) {
            ch_tz_free(tz);
            return usage_error("--pause '%s' is not DATE..DATE (e.g. 2026-12-01..2026-12-04)",
                               pause_s[i]);
        }
        pauses[i].from_ms = ch_tz_local_to_utc(tz, (int64_t)from * 86400, 0) * 1000;
        pauses[i].to_ms = ch_tz_local_to_utc(tz, (int64_t)to * 86400 + 86399, 0) * 1000;
    }
    ch_calendar *cal = ch_calendar_new(nation);
    ch_calendar *uk_any = ch_calendar_new(CH_NATION_UK_ANY);
    ch_calendar *scot = ch_calendar_new(CH_NATION_SCOTLAND);
    int code = 1;
    if (!cal || !uk_any || !scot) {
        fprintf(stderr, "charterctl deadline: out of memory\n");
        goto out;
    }
    ch_deadline_ctx ctx = {.tz = tz, .calendar = cal, .uk_any = uk_any, .scotland = scot};
    int64_t due;
    if (ch_deadline_due(&ctx, &clock, received, pauses, npause, &due) != 0) {
        fprintf(stderr,
                "charterctl deadline: the deadline falls outside %d-%d, the years the "
                "calendars cover\n",
                CH_CAL_FIRST_YEAR, CH_CAL_LAST_YEAR);
        goto out;
    }
    char due_s[64], recv_s[64], desc[256];
    ch_deadline_format(tz, due, due_s, sizeof(due_s));
    ch_deadline_format(tz, received, recv_s, sizeof(recv_s));
    ch_clock_describe(&clock, desc, sizeof(desc));
    printf("%s\n", due_s);
    printf("rule:      %s%s%s%s\n", desc, clock.preset[0] ? " (statutory preset " : "",
           clock.preset, clock.preset[0] ? ")" : "");
    printf("calendar:  %s; time zone %s\n",
           clock.calendar == CH_CLOCK_CAL_UK_ANY     ? ch_nation_title(CH_NATION_UK_ANY)
           : clock.calendar == CH_CLOCK_CAL_SCOTLAND ? ch_nation_title(CH_NATION_SCOTLAND)
                                                     : ch_nation_title(nation),
           ch_tz_name(tz));
    printf("received:  %s\n", recv_s);
    for (size_t i = 0; i < npause; i++)
        printf("paused:    %s (days skipped)\n", pause_s[i]);
    code = 0;
out:
    ch_calendar_free(cal);
    ch_calendar_free(uk_any);
    ch_calendar_free(scot);
    ch_tz_free(tz);
    return code;
}

/* "reason,next_steps" into ch_policy_hold bits; -1 naming the bad word. */
static int
parse_with(const char *list, unsigned *bits)
{
    static const struct {
        const char *word;
        unsigned bit;
    } words[] = {{"reason", CH_POLICY_HOLD_REASON},
                 {"next_steps", CH_POLICY_HOLD_NEXT_STEPS},
                 {"apology", CH_POLICY_HOLD_APOLOGY},
                 {"named_contact", CH_POLICY_HOLD_NAMED_CONTACT},
                 {"target_date", CH_POLICY_HOLD_TARGET_DATE}};
    *bits = 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        size_t k = 0;
        for (; k < sizeof(words) / sizeof(words[0]); k++)
            if (strlen(words[k].word) == len && !strncmp(words[k].word, p, len))
                break;
        if (k == sizeof(words) / sizeof(words[0]) && len) {
            fprintf(stderr,
                    "charterctl deadline: --with '%.*s' is not one of reason, next_steps, apology, "
                    "named_contact\n",
                    (int)len, p);
            return -1;
        }
        if (len)
            *bits |= words[k].bit;
        p += len + (p[len] == ',');
    }
    return 0;
}

int
ch_deadline_extension(const ch_deadline_ctx *ctx, const ch_policy_promise *pr, int64_t start,
                      int64_t due, const ch_deadline_extend *o)
{
    int64_t asked, sent = start;
    if (parse_instant(o->extend_to, &asked) != 0)
        return usage_error("--extend-to '%s' is not ISO 8601 with an offset", o->extend_to);
    if (o->sent && parse_instant(o->sent, &sent) != 0)
        return usage_error("--sent '%s' is not ISO 8601 with an offset", o->sent);
    ch_extension_request r = {.recorded_ms = sent, .new_target_ms = asked};
    if (o->with) {
        if (parse_with(o->with, &r.includes) != 0)
            return 2;
        r.includes |= CH_POLICY_HOLD_TARGET_DATE;
    } else {
        r.includes = pr->holding_must_include | CH_POLICY_HOLD_TARGET_DATE;
    }
    if (ch_extension_basis_parse(o->basis, &r.basis) != 0)
        return usage_error("--basis '%s' is not foi_public_interest, eir_complex or sar_complex",
                           o->basis);
    ch_extension_clock c = {.start_ms = start, .original_due_ms = due, .target_ms = due};
    int64_t limit = 0;
    char why[512], asked_s[48], limit_s[48];
    ch_extension_verdict v = ch_extension_check(ctx, pr, &c, &r, &limit, why, sizeof(why));
    ch_deadline_format(ctx->tz, asked, asked_s, sizeof(asked_s));
    if (v == CH_EXTENSION_ALLOWED) {
        printf("\nextension to %s: allowed", asked_s);
        if (limit) {
            ch_deadline_format(ctx->tz, limit, limit_s, sizeof(limit_s));
            printf(" (%s at the latest)", limit_s);
        }
        printf("\n");
    } else {
        printf("\nextension to %s: refused: %s\n", asked_s, why);
    }
    return 0;
}

int
ch_cmd_holidays(int argc, char **argv)
{
    const char *nation_s = NULL, *year_s = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--override"))
            return ch_cmd_holidays_override(argv[i + 1]);
        if (!strcmp(argv[i], "--calendar"))
            nation_s = argv[i + 1];
        else if (!strcmp(argv[i], "--year"))
            year_s = argv[i + 1];
    }
    ch_nation nation;
    if (!nation_s || !year_s || ch_nation_parse(nation_s, &nation) != 0) {
        fprintf(stderr,
                "charterctl holidays: needs --calendar NATION (england-and-wales, "
                "scotland, northern-ireland, uk-any) and --year YYYY, or --override FILE\n");
        return 2;
    }
    char *end;
    long year = strtol(year_s, &end, 10);
    if (*end || year < CH_CAL_FIRST_YEAR || year > CH_CAL_LAST_YEAR) {
        fprintf(stderr, "charterctl holidays: --year must be %d..%d\n", CH_CAL_FIRST_YEAR,
                CH_CAL_LAST_YEAR);
        return 2;
    }
    static const char *wd[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    ch_nation nations[3];
    size_t nn = 0;
    if (nation == CH_NATION_UK_ANY) {
        nations[nn++] = CH_NATION_ENGLAND_AND_WALES;
        nations[nn++] = CH_NATION_SCOTLAND;
        nations[nn++] = CH_NATION_NORTHERN_IRELAND;
    } else {
        nations[nn++] = nation;
    }
    for (size_t k = 0; k < nn; k++) {
        ch_holiday h[32];
        int n = ch_bank_holidays(nations[k], (int)year, h, 32);
        if (n < 0)
            return 1;
        if (nn > 1)
            printf("%s:\n", ch_nation_title(nations[k]));
        for (int i = 0; i < n && i < 32; i++) {
            int y, m, d;
            ch_civil_from_day(h[i].day, &y, &m, &d);
            printf("%s%04d-%02d-%02d %s  %s\n", nn > 1 ? "  " : "", y, m, d,
                   wd[ch_weekday(h[i].day)], h[i].name);
        }
    }
    return 0;
}
