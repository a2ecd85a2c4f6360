/*
 * Which offset of one partition may be committed: the done-prefix tracker.
 *
 * Messages of a partition are handed to the service in offset order but may
 * finish in any order (a Redis reply for a later message can come first, a
 * message may be retried for minutes). The committed position must only
 * ever pass messages that are done, or a crash would lose the unfinished
 * ones. So each message in flight gets a sequence number in consumption
 * order, and the tracker answers, for every completion, how far the prefix
 * of done messages now reaches: the offset to store is the last offset of
 * that prefix + 1 (Kafka's "next offset to read"), or nothing when the
 * prefix did not move.
 *
 * Sequence numbers, not offsets, index the ring: offsets of a compacted or
 * transactional topic have gaps, and the tracker must not care.
 *
 * Pure: no Kafka, no loop, no clock; tests/unit/test_offsets.c drives it.
 */
#ifndef CHARTER_RUNTIME_OFFSETS_H
#define CHARTER_RUNTIME_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t *offs;     /* ring of offsets in flight, in consumption order */
    uint8_t *done;     /* 1 once that message finished */
    size_t head;       /* ring index of the oldest message in flight */
    size_t count, cap; /* messages in flight; ring size */
    uint64_t head_seq; /* sequence number of the entry at head */
    uint64_t next_seq; /* sequence number the next push gets */
} ch_offsets;

/* An empty tracker (a zeroed struct is one too). */
void ch__offsets_init(ch_offsets *o);

/* Frees the ring; the tracker is empty again. */
void ch__offsets_free(ch_offsets *o);

/*
 * Records a consumed message at offset. Returns 0 with *seq, the number to
 * pass to ch__offsets_ack() when it is done, or CH_ENOMEM (nothing recorded).
 */
int ch__offsets_push(ch_offsets *o, int64_t offset, uint64_t *seq);

/*
 * Marks message seq done. Returns the offset to store (the end of the done
 * prefix + 1) when the prefix advanced, else -1: the message waits for an
 * earlier one, or seq is unknown (acknowledged twice, or pushed before the
 * last ch__offsets_reset()).
 */
int64_t ch__offsets_ack(ch_offsets *o, uint64_t seq);

/*
 * Forgets every message in flight (the partition was revoked, or its fetch
 * position reset): their later acks return -1. Sequence numbers go on, so an
 * old seq is never mistaken for a new one.
 */
void ch__offsets_reset(ch_offsets *o);

/*
 * A message at offset could not be tracked (out of memory): the partition
 * must be read again from the returned offset, the oldest not yet passed by
 * the done prefix (offset itself when nothing earlier is in flight), and
 * every message in flight is forgotten as by ch__offsets_reset(), so no
 * later ack stores an offset past the untracked one. The messages read
 * again are tracked afresh.
 */
int64_t ch__offsets_rewind(ch_offsets *o, int64_t offset);

/* Messages pushed and not yet passed by the done prefix. */
size_t ch__offsets_in_flight(const ch_offsets *o);

#endif
