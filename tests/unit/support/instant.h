/*
 * Instants for tests. fx_at() reads the RFC 3339 instants tests write their
 * cases in; fx_utc() works a civil UTC time out with the C library's timegm(),
 * a calendar that shares no code with charter_time, so a test can check
 * Charter's calendar against it.
 */
#ifndef CHARTER_TEST_INSTANT_H
#define CHARTER_TEST_INSTANT_H

#include <stdint.h>

/* The instant iso ("2026-11-23T09:15:00Z") in ms since the epoch; fails the
 * running test if iso does not parse. */
int64_t fx_at(const char *iso);

/* Seconds since the epoch of y-mo-d h:mi:s UTC, by timegm(). */
int64_t fx_utc(int y, int mo, int d, int h, int mi, int s);

/* fx_utc() in ms. */
int64_t fx_utc_ms(int y, int mo, int d, int h, int mi, int s);

#endif
