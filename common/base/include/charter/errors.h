/*
 * Charter's own return codes. 0 is success; failures are negative CH_E*
 * values. Kafka's and Redis's codes are never returned as ours: a caller
 * that needs them gets them from an errstr sentence.
 */
#ifndef CHARTER_ERRORS_H
#define CHARTER_ERRORS_H

enum {
    CH_OK = 0,
    CH_EINVAL = -1, /* bad argument or input; do not retry */
    CH_ENOMEM = -2, /* allocation failed */
    CH_EIO = -3,    /* a dependency (Kafka, Redis, file) failed */
    CH_EAGAIN = -4, /* temporary failure: retry later */
    CH_ENOTFOUND = -5,
    CH_EEXIST = -6,
    CH_EBADMSG = -7,  /* a record that can never be processed: skip it */
    CH_ESHUTDOWN = -8 /* the runtime is stopping */
};

/* A short English name for a CH_E* code; never NULL. */
const char *ch_strerror(int rc);

#endif
