/* Random identifiers for cases and events. */
#ifndef CHARTER_IDS_H
#define CHARTER_IDS_H

#define CH_UUID_BUFSZ 37

/* Writes a random (version 4) UUID in lower-case text form. Returns 0, or
 * CH_EIO when the system has no randomness to give. */
int ch_uuid4(char out[CH_UUID_BUFSZ]);

#endif
