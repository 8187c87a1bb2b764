/* files.h -- folders on the way to a file: `mkdir -p`, shared by the journal, the report
 * writers, the drill and the history (each once had its own copy).
 * Each returns 0 (the folders exist, made now or before) or -1 with errno set. */
#ifndef FL_FILES_H
#define FL_FILES_H

/* dir and every folder above it */
int files_mkdir_p(const char *dir);
/* every folder above the file at path (nothing for a bare name) */
int files_mkdir_parent(const char *path);
/* files_mkdir_parent, each folder it creates fsync'd in its parent: a power loss cannot take
 * a fresh folder (and an fsync'd file in it) with it (the journal) */
int files_mkdir_parent_durable(const char *path);
/* fsync the folder holding path: its entry for path is durable after this (errno kept) */
int files_fsync_parent(const char *path);

#endif
