/*
 * The done-prefix tracker (offsets.h): a ring that doubles when full, so a
 * partition with many messages in flight costs one allocation per doubling
 * and an ack is O(1) plus the entries it lets go.
 */
#include "offsets.h"

#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"

void
ch__offsets_init(ch_offsets *o)
{
    memset(o, 0, sizeof(*o));
}

void
ch__offsets_free(ch_offsets *o)
{
    free(o->offs);
    free(o->done);
    uint64_t next = o->next_seq;
    ch__offsets_init(o);
    o->head_seq = o->next_seq = next;
}

static int
grow(ch_offsets *o)
{
    size_t cap = o->cap ? o->cap * 2 : 64;
    int64_t *offs = malloc(cap * sizeof(*offs));
    uint8_t *done = malloc(cap);
    if (!offs || !done) {
        free(offs);
        free(done);
        return CH_ENOMEM;
    }
    for (size_t i = 0; i < o->count; i++) {
        offs[i] = o->offs[(o->head + i) % o->cap];
        done[i] = o->done[(o->head + i) % o->cap];
    }
    free(o->offs);
    free(o->done);
    o->offs = offs;
    o->done = done;
    o->head = 0;
    o->cap = cap;
    return 0;
}

int
ch__offsets_push(ch_offsets *o, int64_t offset, uint64_t *seq)
{
    if (o->count == o->cap && grow(o) != 0)
        return CH_ENOMEM;
    size_t idx = (o->head + o->count) % o->cap;
    o->offs[idx] = offset;
    o->done[idx] = 0;
    o->count++;
    *seq = o->next_seq++;
    return 0;
}

int64_t
ch__offsets_ack(ch_offsets *o, uint64_t seq)
{
    if (seq < o->head_seq || seq - o->head_seq >= o->count)
        return -1;
    size_t idx = (o->head + (size_t)(seq - o->head_seq)) % o->cap;
    if (o->done[idx])
        return -1;
    o->done[idx] = 1;
    int64_t store = -1;
    while (o->count && o->done[o->head]) {
        store = o->offs[o->head] + 1;
        o->head = (o->head + 1) % o->cap;
        o->count--;
        o->head_seq++;
    }
    return store;
}

void
ch__offsets_reset(ch_offsets *o)
{
    o->head = 0;
    o->count = 0;
    o->head_seq = o->next_seq;
}

int64_t
ch__offsets_rewind(ch_offsets *o, int64_t offset)
{
    int64_t from = offset;
    for (size_t i = 0; i < o->count; i++) {
        int64_t off = o->offs[(o->head + i) % o->cap];
        if (off < from)
            from = off;
    }
    ch__offsets_reset(o);
    return from;
}

size_t
ch__offsets_in_flight(const ch_offsets *o)
{
    return o->count;
}
