/*
 * `charterctl holidays --override FILE`: checks a GOV.UK-format
 * bank-holidays file before an operator names it in holidays.override_file,
 * and shows what it changes. The check is the services' own
 * (ch_calendar_apply_govuk_json on a uk-any calendar, which needs all three
 * divisions); the listing compares, for each year the file covers in a
 * division, the file's dates with the built-in rules (ch_bank_holidays),
 * because the services let a covered year's dates replace the rules' whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "charter/calendar.h"
#include "charter/civil.h"
#include "charter/fileio.h"
#include "charterctl.h"

static const char *const weekdays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

static void
print_day(char sign, int32_t day, const char *title)
{
    int y, m, d;
    ch_civil_from_day(day, &y, &m, &d);
    printf("  %c %04d-%02d-%02d %s  %s\n", sign, y, m, d, weekdays[ch_weekday(day)], title);
}

static int
date_day(const char *s, int32_t *day)
{
    int y, m, d;
    if (!s || sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3)
        return -1;
    if (y < CH_CAL_FIRST_YEAR || y > CH_CAL_LAST_YEAR)
        return -1;
    *day = (int32_t)ch_day_from_civil(y, m, d);
    return 0;
}

/* One division: the years its events cover, and for each the dates added to
 * and dropped from the rules. Returns how many differences it printed. */
static int
compare_division(ch_nation n, json_t *events)
{
    char covered[CH_CAL_LAST_YEAR - CH_CAL_FIRST_YEAR + 1] = {0};
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        int32_t day;
        if (date_day(json_string_value(json_object_get(ev, "date")), &day) == 0) {
            int y, m, d;
            ch_civil_from_day(day, &y, &m, &d);
            covered[y - CH_CAL_FIRST_YEAR] = 1;
        }
    }
    int diffs = 0;
    printf("%s:\n", ch_nation_title(n));
    for (int year = CH_CAL_FIRST_YEAR; year <= CH_CAL_LAST_YEAR; year++) {
        if (!covered[year - CH_CAL_FIRST_YEAR])
            continue;
        ch_holiday rules[32];
        int nrules = ch_bank_holidays(n, year, rules, 32);
        json_array_foreach(events, i, ev)
        {
            int32_t day;
            int y, m, d;
            if (date_day(json_string_value(json_object_get(ev, "date")), &day) != 0)
                continue;
            ch_civil_from_day(day, &y, &m, &d);
            if (y != year)
                continue;
            int known = 0;
            for (int k = 0; k < nrules && !known; k++)
                known = rules[k].day == day;
            const char *title = json_string_value(json_object_get(ev, "title"));
            if (!known && ++diffs)
                print_day('+', day, title ? title : "(no title)");
        }
        for (int k = 0; k < nrules; k++) {
            int listed = 0;
            json_array_foreach(events, i, ev)
            {
                int32_t day;
                if (date_day(json_string_value(json_object_get(ev, "date")), &day) == 0 &&
                    day == rules[k].day)
                    listed = 1;
            }
            if (!listed && ++diffs)
                print_day('-', rules[k].day, rules[k].name);
        }
    }
    if (!diffs)
        printf("  the same as the built-in rules for the years it covers\n");
    return diffs;
}

int
ch_cmd_holidays_override(const char *path)
{
    char *buf = NULL, err[1024];
    size_t len = 0;
    if (ch_file_read_all(path, 4u << 20, &buf, &len, err, sizeof(err)) != 0) {
        fprintf(stderr, "charterctl holidays: %s\n", err);
        return 1;
    }
    ch_calendar *probe = ch_calendar_new(CH_NATION_UK_ANY);
    int rc = probe ? ch_calendar_apply_govuk_json(probe, buf, len, path, err, sizeof(err)) : -1;
    ch_calendar_free(probe);
    if (rc != 0) {
        fprintf(stderr, "charterctl holidays: %s\n", probe ? err : "out of memory");
        free(buf);
        return 1;
    }
    json_t *doc = json_loadb(buf, len, 0, NULL);
    free(buf);
    if (!doc) {
        fprintf(stderr, "charterctl holidays: out of memory\n");
        return 1;
    }
    printf("%s: valid; '+' a holiday the file adds to the built-in rules, '-' one it removes\n",
           path);
    static const ch_nation nations[] = {CH_NATION_ENGLAND_AND_WALES, CH_NATION_SCOTLAND,
                                        CH_NATION_NORTHERN_IRELAND};
    for (size_t k = 0; k < sizeof(nations) / sizeof(nations[0]); k++)
        compare_division(
            nations[k],
            json_object_get(json_object_get(doc, ch_nation_name(nations[k])), "events"));
    json_decref(doc);
    return 0;
}
