/* Why: ingest's two signature checks (the gateway's v2 header and Meta's
 * X-Hub-Signature-256) each carried the same digit table. */
#include "charter/hex.h"

int
ch_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
