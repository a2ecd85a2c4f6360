/*
 * libFuzzer target for ingest's e-mail parser: the bytes are one delivered
 * message, read with GMime and classified. Whatever comes back must be what
 * the listener relies on: a known kind, a why for IGNORED and INVALID, a
 * notice for BOUNCE, text and names valid UTF-8 within their limits and
 * without control characters, a From address that ch_mailbox_valid accepts,
 * at most INGEST_MAIL_MAX_ATTACHMENTS attachments. The same bytes also go
 * through the HTML converter, the tidier and the reference finder on their
 * own. ASan/UBSan (and LeakSanitizer: every GMime object unref'd) catch the
 * rest.
 */
#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "charter/contact_fields.h"
#include "charter/mailbox.h"
#include "mail_message.h"
#include "mail_text.h"

static void
check_text(const char *s, int one_line, size_t max)
{
    if (!s)
        return;
    size_t n = strlen(s);
    if (!g_utf8_validate(s, (gssize)n, NULL) || g_utf8_strlen(s, (gssize)n) > (glong)max)
        abort();
    for (const char *p = s; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        int ctl = c < 0x20 || (c >= 0x7f && c <= 0x9f);
        if (ctl && (one_line || (c != '\n' && c != '\t')))
            abort();
    }
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ingest_mail_global_init();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const own[] = {"notices.example.gov.uk", "charter.invalid"};
    ingest_mail m;
    char err[256];
    if (ingest_mail_parse((const char *)data, size, own, 2, &m, err, sizeof err) != 0) {
        if (err[0] == '\0')
            abort();
        return 0;
    }
    if (m.kind < INGEST_MAIL_NEW || m.kind > INGEST_MAIL_INVALID)
        abort();
    if ((m.kind == INGEST_MAIL_IGNORED || m.kind == INGEST_MAIL_INVALID) != (m.why != NULL))
        abort();
    if (m.kind == INGEST_MAIL_INVALID && err[0] == '\0')
        abort();
    if (m.kind == INGEST_MAIL_BOUNCE && m.notification_id[0] == '\0')
        abort();
    if ((m.kind == INGEST_MAIL_NEW || m.kind == INGEST_MAIL_REPLY) &&
        (!m.from_address || !ch_mailbox_valid(m.from_address, NULL)))
        abort();
    if (m.kind == INGEST_MAIL_REPLY && m.reference[0] == '\0' && m.notification_id[0] == '\0')
        abort();
    if (m.kind != INGEST_MAIL_INVALID && !m.text)
        abort();
    check_text(m.text, 0, CH_FIELD_TEXT_MAX);
    check_text(m.subject, 1, CH_FIELD_TEXT_MAX);
    check_text(m.from_name, 1, CH_FIELD_NAME_MAX);
    check_text(m.bounce_reason, 1, sizeof m.bounce_reason);
    if (m.nattachments > INGEST_MAIL_MAX_ATTACHMENTS)
        abort();
    for (size_t i = 0; i < m.nattachments; i++) {
        check_text(m.attachments[i].name, 1, CH_FIELD_NAME_MAX);
        check_text(m.attachments[i].content_type, 1, 127);
        if (!m.attachments[i].name || !m.attachments[i].content_type ||
            m.attachments[i].size_bytes < 0)
            abort();
    }
    if (memchr(m.reference, '\0', sizeof m.reference) == NULL ||
        memchr(m.notification_id, '\0', sizeof m.notification_id) == NULL)
        abort();
    ingest_mail_free(&m);

    char *t = ingest_mail_html_text((const char *)data, size, 300);
    if (t) {
        if (strlen(t) > 4 * 300 + 8)
            abort();
        ingest_mail_text_tidy(t, 0, 300);
        check_text(t, 0, 300);
        free(t);
    }
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    ingest_mail_text_tidy(copy, 1, 50);
    check_text(copy, 1, 50);
    char ref[64];
    if (ingest_mail_find_reference(copy, ref, sizeof ref) && strlen(ref) >= sizeof ref)
        abort();
    free(copy);
    return 0;
}
