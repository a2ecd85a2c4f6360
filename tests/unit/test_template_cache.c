/*
 * notification's template cache: a file is parsed once and served from the
 * cache while unchanged; an edit in place (same inode) or a replacement
 * (rename over it) is read on the next use; a broken edit is reported, not
 * cached, and the fixed file is used again; clear forgets everything.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "template_cache.h"

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *
body_of(notify_tcache *c, const char *path, int *reads)
{
    const ch_template *t;
    char err[512] = "";
    if (notify_tcache_get(c, path, &t, reads, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    char *s = NULL, *b = NULL;
    ch_template_var v[] = {{"reference", "NCH-1"}};
    assert_int_equal(ch_template_render(t, v, 1, &s, &b, err, sizeof(err)), 0);
    free(s);
    return b;
}

static void
parsed_once_read_again_when_the_file_changes(void **state)
{
    (void)state;
    char dir[] = "/tmp/tcache.XXXXXX", path[256], tmp[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/acknowledgement.sms.en.txt", dir);
    snprintf(tmp, sizeof(tmp), "%s/new.txt", dir);
    write_file(path, "Ref {reference}.\n");
    notify_tcache *c = notify_tcache_new();
    assert_non_null(c);
    int reads = 0;
    for (int i = 0; i < 3; i++) {
        char *b = body_of(c, path, &reads);
        assert_string_equal(b, "Ref NCH-1.");
        free(b);
    }
    assert_int_equal(reads, 1);
    /* Edited in place: another size. */
    write_file(path, "Your reference: {reference}.\n");
    char *b = body_of(c, path, &reads);
    assert_string_equal(b, "Your reference: NCH-1.");
    free(b);
    assert_int_equal(reads, 2);
    /* Replaced by rename, same size: a new inode. */
    write_file(tmp, "Your referencE: {reference}.\n");
    assert_int_equal(rename(tmp, path), 0);
    b = body_of(c, path, &reads);
    assert_string_equal(b, "Your referencE: NCH-1.");
    free(b);
    assert_int_equal(reads, 3);
    /* A broken edit is refused and not cached; the fix is read. */
    write_file(path, "Ref {refrence}.\n");
    const ch_template *t;
    char err[512] = "";
    assert_int_equal(notify_tcache_get(c, path, &t, &reads, err, sizeof(err)), CH_EINVAL);
    assert_non_null(strstr(err, "unknown placeholder {refrence}"));
    assert_null(t);
    write_file(path, "Ref {reference}!\n");
    b = body_of(c, path, &reads);
    assert_string_equal(b, "Ref NCH-1!");
    free(b);
    assert_int_equal(reads, 5);
    /* Cleared (SIGHUP): read again. */
    notify_tcache_clear(c);
    b = body_of(c, path, &reads);
    free(b);
    assert_int_equal(reads, 6);
    /* Gone: CH_EIO. */
    unlink(path);
    assert_int_equal(notify_tcache_get(c, path, &t, NULL, err, sizeof(err)), CH_EIO);
    notify_tcache_free(c);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parsed_once_read_again_when_the_file_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
