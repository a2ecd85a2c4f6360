/*
 * charterctl: the operator's and staff's command line. Each subcommand lives
 * in its own file; this one only dispatches.
 */
#include <stdio.h>
#include <string.h>

#include "charter/version.h"
#include "charterctl.h"

static void
usage(FILE *out)
{
    fprintf(out,
            "Usage: charterctl COMMAND [OPTIONS]   (or --help, --version)\n\n"
            "Commands:\n"
            "  policy check [--templates DIR] [--staff-email PATTERN] FILE...\n"
            "                                 validate policies as the services load them and\n"
            "                                 summarise every promise\n"
            "  deadline --policy FILE (--channel CH [--type T] --received INSTANT |\n"
            "           --case REFERENCE [--redis URL])\n"
            "           [--reviewed INSTANT] [--extend-to INSTANT [--basis B] [--sent INSTANT]\n"
            "           [--with LIST]]\n"
            "                                 every clock of a case under a policy; whether a\n"
            "                                 holding reply would move the target\n"
            "  deadline --calendar NATION --received INSTANT (--within RULE | --statutory PRESET)\n"
            "           [--pause DATE..DATE]... [--timezone ZONE]\n"
            "                                 when is this due? (first line: the due instant)\n"
            "  holidays --calendar NATION --year YYYY\n"
            "                                 the bank holidays of a year\n"
            "  holidays --override FILE       check a GOV.UK bank-holidays.json for\n"
            "                                 holidays.override_file; list what it changes\n"
            "  timers (--case ID|REFERENCE | --due-within N{s,m,h,d}) [--redis URL]\n"
            "                                 timers sla-timer holds, soonest first\n"
            "  timers --state ID [--redis URL] the case's state sla-timer keeps, as JSON\n"
            "  report --organisation ID --year YYYY --format html|csv [--url URL]\n"
            "                                 the charter's performance for a year, per promise\n"
            "  notify (parked | replay) [--organisation ID] [--redis URL]\n"
            "                                 notices parked by notification (retry budget spent,\n"
            "                                 credentials refused); replay queues them again\n"
            "  erase (--reference R | --email E | --phone P) [--redis URL] [--outbox DIR]\n"
            "        [--print-dir DIR]\n"
            "                                 erase a person's data (Redis, outbox, print queue);\n"
            "                                 prints what was erased and what Kafka keeps\n\n"
            "NATION: england-and-wales, scotland, northern-ireland, uk-any.\n"
            "INSTANT: ISO 8601 with an offset or Z, e.g. 2026-12-23T16:30:00Z.\n"
            "See docs/deadlines.md for the exact meaning of every rule.\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("charterctl %s\n", CHARTER_VERSION_LINE);
        return 0;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "policy"))
        return ch_cmd_policy(argc - 1, argv + 1);
    if (!strcmp(cmd, "holidays"))
        return ch_cmd_holidays(argc - 1, argv + 1);
    if (!strcmp(cmd, "timers"))
        return ch_cmd_timers(argc - 1, argv + 1);
    if (!strcmp(cmd, "report"))
        return ch_cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "erase"))
        return ch_cmd_erase(argc - 1, argv + 1);
    if (!strcmp(cmd, "notify"))
        return ch_cmd_notify(argc - 1, argv + 1);
    if (!strcmp(cmd, "deadline")) {
        for (int i = 2; i < argc; i++)
            if (!strcmp(argv[i], "--policy"))
                return ch_cmd_deadline_policy(argc - 1, argv + 1);
        return ch_cmd_deadline(argc - 1, argv + 1);
    }
    fprintf(stderr, "charterctl: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
