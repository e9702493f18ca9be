/*
 * wf_fs.h - small filesystem helpers shared by the server and the agent.
 */
#ifndef WF_FS_H
#define WF_FS_H

/* mkdir -p: create dir and its missing parents (mode 0755). 0 when it
 * exists afterwards, -1 with errno set otherwise. */
int wf_mkdirs(const char *dir);

#endif
