/*
 * libFuzzer target for the JSON normaliser: the bytes of a request body, an
 * NDJSON line or a gateway record are read as all three kinds, and the body
 * is also split as NDJSON and each line parsed as a record. Whatever is
 * accepted must pack to protobuf and unpack again (what consumers will do);
 * whatever is refused must say why. ASan/UBSan catch the rest.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event_json.h"

static void
check(const char *data, size_t len, ch_event_json_kind kind)
{
    Charter__V1__CaseEvent *ev = NULL;
    ch_event_json_meta meta;
    ch_json_error err;
    if (ch_event_json_parse(data, len, kind, &ev, &meta, &err) != 0) {
        if (ev || err.code[0] == '\0' || err.message[0] == '\0' ||
            (err.status != 400 && err.status != 422 && err.status != 500))
            abort();
        return;
    }
    if (!ev || !ev->occurred_at || ev->event_case == CHARTER__V1__CASE_EVENT__EVENT__NOT_SET ||
        ev->occurred_at->nanos < 0 || ev->occurred_at->nanos > 999999999)
        abort();
    if (kind == CH_EVENT_JSON_RECORD && ev->event_case != CHARTER__V1__CASE_EVENT__EVENT_RECEIVED &&
        !ch_event_json_valid_case_id(meta.case_id, strlen(meta.case_id)))
        abort();
    size_t n = charter__v1__case_event__get_packed_size(ev);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        abort();
    if (charter__v1__case_event__pack(ev, buf) != n)
        abort();
    Charter__V1__CaseEvent *back = charter__v1__case_event__unpack(NULL, n, buf);
    free(buf);
    if (!back || back->event_case != ev->event_case)
        abort();
    ch_event_json_free(back);
    ch_event_json_free(ev);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    check(text, size, CH_EVENT_JSON_CONTACT);
    check(text, size, CH_EVENT_JSON_CASE_EVENT);
    check(text, size, CH_EVENT_JSON_RECORD);
    size_t pos = 0, n;
    const char *line;
    while (ch_event_json_next_line(text, size, &pos, &line, &n)) {
        if (line < text || line + n > text + size)
            abort();
        check(line, n, CH_EVENT_JSON_RECORD);
    }
    return 0;
}
