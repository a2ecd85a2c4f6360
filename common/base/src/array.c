/*
 * ch_array_grow(). The array's pointer is read and written through memcpy:
 * callers pass the address of their own typed pointer (T **), which C lets
 * no function take as a void ** without breaking aliasing rules.
 */
#include "charter/array.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "charter/errors.h"

int
ch_array_grow(void *itemsp, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return CH_ENOMEM;
        n *= 2;
    }
    if (size && n > SIZE_MAX / size)
        return CH_ENOMEM;
    void *items;
    memcpy(&items, itemsp, sizeof(items));
    items = realloc(items, n * size);
    if (!items)
        return CH_ENOMEM;
    memcpy(itemsp, &items, sizeof(items));
    *cap = n;
    return 0;
}
