/*
 * The development file sink: one JSON line per message in
 * <notify.outbox_dir>/<organisation>.jsonl, fsynced before it counts as
 * sent. A repeat after a crash writes the same notification_id again, which
 * is harmless for a file a developer reads.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "charter/errors.h"
#include "charter/timeutil.h"
#include "notify.h"

int
notify_outbox_append(notify *n, const char *organisation, void *l)
{
    json_t *line = l;
    char now[CH_TIME_BUFSZ];
    ch_time_format_utc(ch_time_now_ms(), now, sizeof(now));
    json_object_set_new(line, "written_at", json_string(now));
    char *s = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    if (!s)
        return CH_ENOMEM;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s.jsonl", n->cfg->outbox_dir, organisation);
    FILE *f = fopen(path, "a");
    int rc = 0;
    if (!f || fprintf(f, "%s\n", s) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        CH_LOG_ERROR(ch_runtime_log(n->rt), "outbox write failed", CH_STR("path", path),
                     CH_ERRNO(errno));
        rc = CH_EIO;
    }
    if (f)
        fclose(f);
    free(s);
    return rc;
}

int
notify_send_file(notify_job *j)
{
    json_error_t err;
    json_t *line = json_loads(j->meta, 0, &err);
    if (!json_is_object(line)) {
        json_decref(line);
        line = json_object();
        json_object_set_new(line, "notification_id", json_string(j->id));
    }
    json_object_set_new(line, "transport", json_string("file"));
    int rc = notify_outbox_append(j->n, j->organisation, line);
    notify_job_finished(j, rc == 0 ? NOTIFY_SENT : NOTIFY_TEMP, -1,
                        rc == 0 ? "" : "outbox write failed");
    return 0;
}
