/* ch_file_read_all: whole files, the size limit at its edge, and the
 * sentences for what cannot be read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "charter/errors.h"
#include "charter/fileio.h"

static char path[64];

static int
setup(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/charter-test-fileio-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    const char text[] = "organisation: nch\n";
    int ok = write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1);
    close(fd);
    return ok ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static void
test_reads_whole_file(void **state)
{
    (void)state;
    char *buf, err[256];
    size_t len;
    assert_int_equal(ch_file_read_all(path, 1024, &buf, &len, err, sizeof err), 0);
    assert_int_equal(len, 18);
    assert_string_equal(buf, "organisation: nch\n");
    free(buf);
}

static void
test_limit_edge(void **state)
{
    (void)state;
    char *buf, err[256];
    size_t len;
    assert_int_equal(ch_file_read_all(path, 18, &buf, &len, err, sizeof err), 0);
    assert_int_equal(len, 18);
    free(buf);
    assert_int_equal(ch_file_read_all(path, 17, &buf, &len, err, sizeof err), CH_EINVAL);
    assert_null(buf);
    char want[128];
    snprintf(want, sizeof want, "%s: larger than 17 bytes", path);
    assert_string_equal(err, want);
}

static void
test_missing(void **state)
{
    (void)state;
    char *buf, err[256];
    size_t len;
    assert_int_equal(ch_file_read_all("/nonexistent/nch.yaml", 100, &buf, &len, err, sizeof err),
                     CH_EIO);
    assert_null(buf);
    assert_string_equal(err, "/nonexistent/nch.yaml: cannot open: No such file or directory");
}

static void
test_directory(void **state)
{
    (void)state;
    char *buf, err[256];
    assert_int_equal(ch_file_read_all("/tmp", 100, &buf, NULL, err, sizeof err), CH_EIO);
    assert_null(buf);
    assert_non_null(strstr(err, "/tmp: cannot read"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_whole_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_edge, setup, teardown),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
