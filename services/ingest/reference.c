/*
 * Reference floors (reference.h). A handful of organisations, a year or two
 * each: a small array searched in order is enough.
 */
#include "reference.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"

typedef struct {
    char org[64];
    int year;
    long long number;
} floor_entry;

struct ingest_ref_floors {
    floor_entry *v;
    size_t n, cap;
};

int
ingest_reference_parse(const char *ref, size_t len, int *year, long long *number)
{
    size_t i = 0;
    while (i < len && i < 16 &&
           ((ref[i] >= 'A' && ref[i] <= 'Z') || (ref[i] >= 'a' && ref[i] <= 'z') ||
            (ref[i] >= '0' && ref[i] <= '9') || ref[i] == '_'))
        i++;
    if (i == 0 || i > 15 || i + 1 + 4 + 1 + 6 > len || ref[i] != '-' || ref[i + 5] != '-')
        return -1;
    int y = 0;
    for (size_t k = i + 1; k < i + 5; k++) {
        if (ref[k] < '0' || ref[k] > '9')
            return -1;
        y = y * 10 + (ref[k] - '0');
    }
    size_t k = i + 6;
    if (len - k > 18)
        return -1;
    long long n = 0;
    for (; k < len; k++) {
        if (ref[k] < '0' || ref[k] > '9')
            return -1;
        n = n * 10 + (ref[k] - '0');
    }
    *year = y;
    *number = n;
    return 0;
}

ingest_ref_floors *
ingest_ref_floors_new(void)
{
    return calloc(1, sizeof(ingest_ref_floors));
}

void
ingest_ref_floors_free(ingest_ref_floors *f)
{
    if (!f)
        return;
    free(f->v);
    free(f);
}

static floor_entry *
find(const ingest_ref_floors *f, const char *org, int year)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->v[i].year == year && strncmp(f->v[i].org, org, sizeof(f->v[i].org) - 1) == 0)
            return &f->v[i];
    return NULL;
}

long long
ingest_ref_floor(const ingest_ref_floors *f, const char *org, int year)
{
    const floor_entry *e = find(f, org, year);
    return e ? e->number : 0;
}

int
ingest_ref_floor_raise(ingest_ref_floors *f, const char *org, int year, long long number)
{
    floor_entry *e = find(f, org, year);
    if (!e) {
        if (f->n == f->cap) {
            size_t cap = f->cap ? f->cap * 2 : 8;
            floor_entry *v = realloc(f->v, cap * sizeof(*v));
            if (!v)
                return CH_ENOMEM;
            f->v = v;
            f->cap = cap;
        }
        e = &f->v[f->n++];
        snprintf(e->org, sizeof(e->org), "%s", org);
        e->year = year;
        e->number = 0;
    }
    if (number > e->number)
        e->number = number;
    return 0;
}

size_t
ingest_ref_floors_count(const ingest_ref_floors *f)
{
    return f->n;
}
