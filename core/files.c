/* files.c -- folders on the way to a file, made and made durable (see files.h). */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int files_fsync_parent(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    int fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* one folder: 0 when it exists (made now or before); a new one fsync'd in its parent when durable */
static int mkdir_one(const char *dir, int durable)
{
    if (mkdir(dir, 0755) == 0) return durable ? files_fsync_parent(dir) : 0;
    return errno == EEXIST ? 0 : -1;
}

static int mkdir_p(const char *dir, int durable)
{
    char tmp[1024];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp) { errno = ENAMETOOLONG; return -1; }
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir_one(tmp, durable) < 0) return -1;
            *p = '/';
        }
    return mkdir_one(tmp, durable);
}

static int mkdir_parent(const char *path, int durable)
{
    char tmp[1024];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) { errno = ENAMETOOLONG; return -1; }
    char *slash = strrchr(tmp, '/');
    if (!slash || slash == tmp) return 0;
    *slash = '\0';
    return mkdir_p(tmp, durable);
}

int files_mkdir_p(const char *dir) { return mkdir_p(dir, 0); }
int files_mkdir_parent(const char *path) { return mkdir_parent(path, 0); }
int files_mkdir_parent_durable(const char *path) { return mkdir_parent(path, 1); }
