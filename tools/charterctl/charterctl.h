/* charterctl's subcommands, one file each; main.c dispatches. Each returns
 * the process exit code (0 ok, 1 failure, 2 usage). */
#ifndef CHARTERCTL_H
#define CHARTERCTL_H

int ch_cmd_policy(int argc, char **argv);
int ch_cmd_deadline_policy(int argc, char **argv);
int ch_cmd_deadline(int argc, char **argv);
int ch_cmd_holidays(int argc, char **argv);
int ch_cmd_timers(int argc, char **argv);
int ch_cmd_report(int argc, char **argv);

#endif
