/*
 * Deadline computations per second on one core, for a mix of the rules the
 * five charters use. Receipt instants are spread over 2000-2090 so calendar
 * and zone look-ups are not all cache-warm on the same day.
 *
 *   bench_deadline [SECONDS_PER_ROUND] [ROUNDS]
 *
 * Prints each round's rate and the median.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "charter/calendar.h"
#include "charter/deadline.h"
#include "charter/tz.h"

static const char *rules[] = {
    "5 working days",
    "10 working days",
    "1 working day",
    "end of next working day",
    "14 days",
    "24 hours",
    "20 seconds",
    "foi",
    "sar",
    "17 working days",
    "1 calendar month",
    "7 working days",
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))
#define NINSTANTS 4096

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (rounds < 1 || rounds > 99 || seconds <= 0) {
        fprintf(stderr, "usage: bench_deadline [SECONDS_PER_ROUND] [ROUNDS<=99]\n");
        return 2;
    }
    char err[256];
    ch_tz *tz = ch_tz_load("Europe/London", NULL, err, sizeof(err));
    if (!tz) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    ch_calendar *ew = ch_calendar_new(CH_NATION_ENGLAND_AND_WALES);
    ch_calendar *uk = ch_calendar_new(CH_NATION_UK_ANY);
    ch_calendar *sc = ch_calendar_new(CH_NATION_SCOTLAND);
    ch_deadline_ctx ctx = {.tz = tz, .calendar = ew, .uk_any = uk, .scotland = sc};
    ch_clock clocks[NRULES];
    for (size_t i = 0; i < NRULES; i++)
        if (ch_clock_parse(rules[i], &clocks[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
    static int64_t instants[NINSTANTS];
    uint64_t x = 88172645463325252ULL;
    int64_t lo = 946684800000LL, span = 90LL * 365 * 86400 * 1000;
    for (int i = 0; i < NINSTANTS; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        instants[i] = lo + (int64_t)(x % (uint64_t)span);
    }
    double rates[99];
    int64_t sink = 0;
    printf("deadline computations per second, one core, %zu rules x %d receipt instants\n", NRULES,
           NINSTANTS);
    for (int r = 0; r < rounds; r++) {
        long long n = 0;
        double start = now_s(), elapsed;
        do {
            for (int i = 0; i < 1024; i++, n++) {
                int64_t due;
                ch_deadline_due(&ctx, &clocks[n % NRULES], instants[(n / NRULES) % NINSTANTS], NULL,
                                0, &due);
                sink += due;
            }
            elapsed = now_s() - start;
        } while (elapsed < seconds);
        rates[r] = (double)n / elapsed;
        printf("  round %d: %.0f per second\n", r + 1, rates[r]);
    }
    qsort(rates, (size_t)rounds, sizeof(double), cmp_double);
    printf("median: %.0f deadlines per second (target 1,000,000)  [checksum %lld]\n",
           rates[rounds / 2], (long long)(sink & 0xffff));
    ch_calendar_free(ew);
    ch_calendar_free(uk);
    ch_calendar_free(sc);
    ch_tz_free(tz);
    return 0;
}
