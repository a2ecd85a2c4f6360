/*
 * libFuzzer entry for the TZif parser: zone files are outside data, so any
 * byte string must either be refused with an error sentence or give a zone
 * whose conversions run without reading out of bounds, overflowing or
 * hanging. The conversions probe instants around the table and far into the
 * footer's range, including the int64 extremes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "charter/tz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    ch_tz *tz = ch_tz_parse("Fuzz/Zone", data, size, err, sizeof err);
    if (tz == NULL) {
        if (strncmp(err, "Fuzz/Zone: ", 11) != 0)
            __builtin_trap();
        return 0;
    }
    static const int64_t probes[] = {INT64_MIN,    -5000000000LL,  -1,       0, 1782000000,
                                     4102444800LL, 253402300799LL, INT64_MAX};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        int32_t off = ch_tz_offset_at(tz, probes[i]);
        if (off < -93600 || off > 93600)
            __builtin_trap();
        (void)ch_tz_local_to_utc(tz, probes[i], 0);
        (void)ch_tz_local_to_utc(tz, probes[i], 1);
    }
    ch_tz_free(tz);
    return 0;
}
