/*
 * Case references after Redis data loss (pure: tests/unit/test_ingest_reference.c).
 *
 * A contact's reference, PREFIX-YYYY-NNNNNN, takes its number from one
 * counter per organisation and year in Redis (charter:ref:{ORG}:YYYY). If
 * Redis loses data (no AOF, the AOF everysec window on a host crash, a
 * restore, a failover to a lagging replica) the counter goes back and
 * would hand out numbers customers already hold. ingest therefore keeps a
 * floor per counter: the highest number it knows was issued, raised from
 * the contact topic when it starts (every reference Kafka retains,
 * reconcile.c) and by every number it allocates. Each allocation sends the
 * floor with the INCR, and the script lifts the counter above it when INCR
 * answers a number at or below it, so a number at or below the floor is
 * never issued again.
 */
#ifndef CHARTER_INGEST_REFERENCE_H
#define CHARTER_INGEST_REFERENCE_H

#include <stddef.h>

/*
 * Splits "PREFIX-YYYY-NNNNNN" (PREFIX: 1-15 letters, digits or '_'; YYYY
 * four digits; NNNNNN six or more digits) into *year and *number. 0, or -1
 * when ref is not a reference.
 */
int ingest_reference_parse(const char *ref, size_t len, int *year, long long *number);

/* The floors, one per organisation id and year. */
typedef struct ingest_ref_floors ingest_ref_floors;

ingest_ref_floors *ingest_ref_floors_new(void);
void ingest_ref_floors_free(ingest_ref_floors *f);

/* The floor of org's counter for year (0 when none is known). */
long long ingest_ref_floor(const ingest_ref_floors *f, const char *org, int year);

/* Raises the floor to number if it is higher: 0, or CH_ENOMEM (the floor
 * then stays as it was). org is copied (at most 63 bytes are kept). */
int ingest_ref_floor_raise(ingest_ref_floors *f, const char *org, int year, long long number);

/* How many counters have a floor. */
size_t ingest_ref_floors_count(const ingest_ref_floors *f);

#endif
