/* rusage.c -- run a command and report the CPU time and peak RSS it used (benchmarks):
 *   rusage CMD [ARGS...]   -> the command's own output, then "@rusage cpu_us=N maxrss_kib=N" on stderr */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: rusage CMD [ARGS...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) { perror("rusage: fork"); return 2; }
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        perror("rusage: exec");
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0) { perror("rusage: wait4"); return 2; }
    double cpu = (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec * 1e6 +
                 (double)ru.ru_stime.tv_usec;
    fprintf(stderr, "@rusage cpu_us=%.0f maxrss_kib=%ld\n", cpu, ru.ru_maxrss);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
