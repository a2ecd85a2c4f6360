/*
 * notification's template cache: a directory is loaded once and served from
 * the cache whatever happens on disk (an edit in place, a rename over it, a
 * broken edit); a new load (SIGHUP's) refuses a broken file with its name and
 * takes the fixed one; a file the cache never had is read on first use.
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
parsed_once_never_read_again_until_reloaded(void **state)
{
    (void)state;
    char dir[] = "/tmp/tcache.XXXXXX", sub[256], path[300], tmp[300];
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof(sub), "%s/default", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof(path), "%s/acknowledgement.sms.en.txt", sub);
    snprintf(tmp, sizeof(tmp), "%s/new.tmp", sub);
    write_file(path, "Ref {reference}.\n");
    notify_tcache *c = notify_tcache_new();
    assert_non_null(c);
    char err[512] = "";
    assert_int_equal(notify_tcache_load_dir(c, dir, err, sizeof(err)), 0);
    int reads = 0;
    for (int i = 0; i < 3; i++) {
        char *b = body_of(c, path, &reads);
        assert_string_equal(b, "Ref NCH-1.");
        free(b);
    }
    assert_int_equal(reads, 0); /* loaded with the directory */
    /* Edited in place, replaced by rename, broken: none of it is used. */
    write_file(path, "Your reference: {reference}.\n");
    char *b = body_of(c, path, &reads);
    assert_string_equal(b, "Ref NCH-1.");
    free(b);
    write_file(tmp, "Ref {refrence}.\n");
    assert_int_equal(rename(tmp, path), 0);
    b = body_of(c, path, &reads);
    assert_string_equal(b, "Ref NCH-1.");
    free(b);
    assert_int_equal(reads, 0);
    /* The reload's check refuses the broken file and keeps nothing. */
    notify_tcache *next = notify_tcache_new();
    assert_non_null(next);
    assert_int_equal(notify_tcache_load_dir(next, dir, err, sizeof(err)), CH_EINVAL);
    assert_non_null(strstr(err, "unknown placeholder {refrence}"));
    assert_non_null(strstr(err, "acknowledgement.sms.en.txt"));
    /* Fixed: a reload takes the new text. */
    write_file(path, "Ref {reference}!\n");
    assert_int_equal(notify_tcache_load_dir(next, dir, err, sizeof(err)), 0);
    b = body_of(next, path, &reads);
    assert_string_equal(b, "Ref NCH-1!");
    free(b);
    notify_tcache_free(next);
    /* A file the cache never had is read on first use. */
    notify_tcache_clear(c);
    b = body_of(c, path, &reads);
    free(b);
    assert_int_equal(reads, 1);
    unlink(path);
    const ch_template *t;
    snprintf(tmp, sizeof(tmp), "%s/missing.txt", sub);
    assert_int_equal(notify_tcache_get(c, tmp, &t, NULL, err, sizeof(err)), CH_EIO);
    notify_tcache_free(c);
    rmdir(sub);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parsed_once_never_read_again_until_reloaded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
