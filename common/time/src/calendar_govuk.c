/*
 * The GOV.UK bank-holidays JSON override (calendar.h), apart from the rules
 * so that only this file needs jansson. GOV.UK publishes a rolling window of
 * years in the same shape the operator's file uses; a year the file covers
 * replaces the computed year whole, so a one-off holiday announced after a
 * release is honoured without a code change.
 *
 * The whole document is checked completely before any bit changes, so a bad
 * file leaves the calendar as it was, and every error names the file and
 * the JSON path of what is wrong.
 */
#include "charter/calendar.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "charter/errors.h"
#include "calendar_int.h"

/* Parses "YYYY-MM-DD" into a day number; -1 if it is not a real date. */
static int
parse_date(const char *s, int32_t *day, int *year)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (m < 1 || m > 12 || d < 1 || d > ch_days_in_month(y, m))
        return -1;
    *day = ch_day_from_civil(y, m, d);
    *year = y;
    return 0;
}

/* Checks one division's object and marks in `years` each year with an event. */
static int
check_division(const char *name, const char *key, json_t *div, unsigned char *years, char *errstr,
               size_t errstr_size)
{
    if (!json_is_object(div)) {
        snprintf(errstr, errstr_size, "%s: %s: expected an object with an \"events\" array", name,
                 key);
        return CH_EINVAL;
    }
    json_t *dname = json_object_get(div, "division");
    if (dname && (!json_is_string(dname) || strcmp(json_string_value(dname), key) != 0)) {
        snprintf(errstr, errstr_size, "%s: %s.division: expected \"%s\"", name, key, key);
        return CH_EINVAL;
    }
    json_t *events = json_object_get(div, "events");
    if (!json_is_array(events)) {
        snprintf(errstr, errstr_size, "%s: %s.events: expected an array of events", name, key);
        return CH_EINVAL;
    }
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        if (!json_is_object(ev)) {
            snprintf(errstr, errstr_size, "%s: %s.events[%zu]: expected an object", name, key, i);
            return CH_EINVAL;
        }
        json_t *title = json_object_get(ev, "title");
        if (title && !json_is_string(title)) {
            snprintf(errstr, errstr_size, "%s: %s.events[%zu].title: expected a string", name, key,
                     i);
            return CH_EINVAL;
        }
        json_t *date = json_object_get(ev, "date");
        int32_t day;
        int year;
        if (!json_is_string(date)) {
            snprintf(errstr, errstr_size, "%s: %s.events[%zu].date: expected YYYY-MM-DD", name, key,
                     i);
            return CH_EINVAL;
        }
        if (parse_date(json_string_value(date), &day, &year) != 0) {
            snprintf(errstr, errstr_size,
                     "%s: %s.events[%zu].date: expected YYYY-MM-DD, a real date, not \"%.40s\"",
                     name, key, i, json_string_value(date));
            return CH_EINVAL;
        }
        if (year < CH_CAL_FIRST_YEAR || year > CH_CAL_LAST_YEAR) {
            snprintf(errstr, errstr_size,
                     "%s: %s.events[%zu].date: %s is outside the years 1995-2100 the calendar "
                     "covers",
                     name, key, i, json_string_value(date));
            return CH_EINVAL;
        }
        years[year - CH_CAL_FIRST_YEAR] = 1;
    }
    return 0;
}

/* Replaces division d's holidays in each marked year with the file's. */
static void
apply_division(ch_calendar *cal, int d, json_t *div, const unsigned char *years)
{
    for (int y = CH_CAL_FIRST_YEAR; y <= CH_CAL_LAST_YEAR; y++) {
        if (!years[y - CH_CAL_FIRST_YEAR])
            continue;
        int32_t end = ch_day_from_civil(y + 1, 1, 1);
        for (int32_t day = ch_day_from_civil(y, 1, 1); day < end; day++)
            cal_bit_clear(cal->div[d], day);
    }
    json_t *events = json_object_get(div, "events");
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        int32_t day;
        int year;
        if (parse_date(json_string_value(json_object_get(ev, "date")), &day, &year) == 0)
            cal_bit_set(cal->div[d], day);
    }
}

int
ch_calendar_apply_govuk_json(ch_calendar *cal, const char *json, size_t len, const char *name,
                             char *errstr, size_t errstr_size)
{
    char scratch[1];
    if (!errstr || errstr_size == 0) {
        errstr = scratch;
        errstr_size = sizeof(scratch);
    }
    errstr[0] = '\0';
    if (!name)
        name = "bank holidays JSON";
    if (!cal || !json) {
        snprintf(errstr, errstr_size, "%s: no calendar or no document to apply", name);
        return CH_EINVAL;
    }

    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(errstr, errstr_size, "%s: line %d, column %d: invalid JSON: %s", name, jerr.line,
                 jerr.column, jerr.text);
        return CH_EINVAL;
    }

    int rc = CH_EINVAL;
    unsigned char years[NDIVISIONS][CAL_NYEARS];
    memset(years, 0, sizeof(years));
    json_t *divs[NDIVISIONS] = {NULL, NULL, NULL};
    if (!json_is_object(root)) {
        snprintf(errstr, errstr_size,
                 "%s: expected an object of divisions (england-and-wales, scotland, "
                 "northern-ireland) at the top level",
                 name);
        goto out;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        ch_nation d;
        if (ch_nation_parse(key, &d) != 0 || d == CH_NATION_UK_ANY) {
            snprintf(errstr, errstr_size,
                     "%s: %s: unknown division; expected england-and-wales, scotland or "
                     "northern-ireland",
                     name, key);
            goto out;
        }
        if (check_division(name, key, val, years[d], errstr, errstr_size) != 0)
            goto out;
        divs[d] = val;
    }
    for (int d = 0; d < NDIVISIONS; d++) {
        if (cal_uses_division(cal, d) && !divs[d]) {
            snprintf(errstr, errstr_size, "%s: no \"%s\" division, which a calendar for %s needs",
                     name, ch_nation_name((ch_nation)d), ch_nation_title(cal->nation));
            goto out;
        }
    }

    for (int d = 0; d < NDIVISIONS; d++)
        if (cal_uses_division(cal, d))
            apply_division(cal, d, divs[d], years[d]);
    ch__calendar_rebuild(cal);
    rc = 0;
out:
    json_decref(root);
    return rc;
}
