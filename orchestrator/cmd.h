/* cmd.h -- the subcommands; main.c holds the table. Each parses its own options with
 * getopt_long, prints its usage on --help, and returns the process exit code. */
#ifndef FL_CMD_H
#define FL_CMD_H

#include <stddef.h>

int cmd_run(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_version(int argc, char **argv);
/* provided by their own files; weak so the table links while one is missing */
int cmd_load(int argc, char **argv) __attribute__((weak));
int cmd_proxy(int argc, char **argv) __attribute__((weak));
int cmd_acgme(int argc, char **argv) __attribute__((weak));
int cmd_report(int argc, char **argv) __attribute__((weak));
int cmd_compare(int argc, char **argv) __attribute__((weak));
int cmd_drill(int argc, char **argv) __attribute__((weak));
int cmd_history(int argc, char **argv) __attribute__((weak));

/* cmd_common.c, shared by commands: load and validate a plan, printing every error; NULL when invalid */
struct plan;
struct plan *cmd_load_plan(const char *path, const char *const *vars, const char *matrix_binding);
/* the default report folder of a command: faultline-runs/PREFIX-YYYYmmdd-HHMMSS (local time) */
void cmd_default_dir(char *out, size_t outlen, const char *prefix);
/* run a matrix plan (matrix_run()) printing each combination's line as it ends, what went
 * wrong, and the contingency table; the worst exit code, the record in *rec (caller decrefs) */
struct run_opts;
struct json_t;
int cmd_matrix(const char *path, const char *const *vars, const struct run_opts *ro, const char *dir, struct json_t **rec);

#endif
