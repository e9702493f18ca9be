/*
 * shim_spawner.c - the process that forks shims for the agent (see
 * shim_spawner.h).
 *
 * The spawner's loop: poll the socket (with a timeout, to reap exited
 * shims), read one request, fork, answer with the pid. The child sets up
 * its stdio and signals, then runs wf_shim_main and leaves with _exit, so
 * nothing inherited from the agent (stdio buffers, atexit handlers) runs
 * twice. The spawner itself also leaves with _exit.
 */
#include "agent/shim_spawner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/shim.h"
#include "lib/wf_mem.h"

#define WF__REQ_MAX 8192

struct wf_shim_spawner {
	int fd;
	pid_t pid;
	pthread_mutex_t mu;
};

static void wf__reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* In the new shim: stdio, session and signals as posix_spawn set them for
 * an exec'd shim, then the shim itself. Never returns. */
static void wf__become_shim(char *dir, const char *log)
{
	int in = open("/dev/null", O_RDONLY);
	int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (in < 0 || out < 0)
		_exit(1);
	dup2(in, 0);
	dup2(out, 1);
	dup2(out, 2);
	if (in > 2)
		close(in);
	if (out > 2)
		close(out);
	setsid();
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL); /* fails harmlessly for KILL, STOP, RT internals */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	char *argv[] = {"shim", dir, NULL};
	_exit(wf_shim_main(2, argv));
}

static void wf__spawner_main(int fd)
{
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	char *req = wf_xmalloc(WF__REQ_MAX);
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		int rc = poll(&p, 1, 200);
		wf__reap_all();
		if (rc < 0 && errno != EINTR)
			break;
		if (rc <= 0)
			continue;
		ssize_t n = recv(fd, req, WF__REQ_MAX - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the agent is gone */
		req[n] = '\0';
		char *dir = req;
		size_t dlen = strlen(dir);
		const char *log = (size_t)n > dlen + 1 ? dir + dlen + 1 : "";
		int32_t answer;
		if (!dir[0] || !log[0]) {
			answer = -EINVAL;
		} else {
			pid_t pid = fork();
			if (pid == 0) {
				close(fd);
				wf__become_shim(dir, log);
			}
			answer = pid < 0 ? -errno : (int32_t)pid;
		}
		if (send(fd, &answer, sizeof answer, 0) < 0)
			break;
	}
	_exit(0);
}

int wf_shim_spawner_start(wf_shim_spawner **out, wf_err *err)
{
	*out = NULL;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return wf_err_set(err, WF_EIO, "shim spawner: socketpair: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return wf_err_set(err, WF_EIO, "shim spawner: fork: %s", strerror(e));
	}
	if (pid == 0) {
		close(sv[0]);
		wf__spawner_main(sv[1]);
	}
	close(sv[1]);
	wf_shim_spawner *sp = wf_xcalloc(1, sizeof *sp);
	sp->fd = sv[0];
	sp->pid = pid;
	pthread_mutex_init(&sp->mu, NULL);
	*out = sp;
	return 0;
}

int wf_shim_spawner_spawn(wf_shim_spawner *sp, const char *dir, const char *log, pid_t *pid,
			  wf_err *err)
{
	size_t dl = strlen(dir), ll = strlen(log);
	if (!dl || !ll || dl + ll + 2 > WF__REQ_MAX)
		return wf_err_set(err, WF_EINVAL, "shim spawner: bad paths");
	char *req = wf_xmalloc(dl + ll + 2);
	memcpy(req, dir, dl + 1);
	memcpy(req + dl + 1, log, ll + 1);
	int32_t answer = -EPIPE;
	pthread_mutex_lock(&sp->mu);
	bool ok = send(sp->fd, req, dl + ll + 2, MSG_NOSIGNAL) == (ssize_t)(dl + ll + 2);
	while (ok) {
		ssize_t n = recv(sp->fd, &answer, sizeof answer, 0);
		if (n < 0 && errno == EINTR)
			continue;
		ok = n == (ssize_t)sizeof answer;
		break;
	}
	pthread_mutex_unlock(&sp->mu);
	free(req);
	if (!ok)
		return wf_err_set(err, WF_EIO, "shim spawner: gone");
	if (answer < 0)
		return wf_err_set(err, WF_EIO, "shim spawner: fork: %s", strerror(-answer));
	*pid = (pid_t)answer;
	return 0;
}

void wf_shim_spawner_stop(wf_shim_spawner *sp)
{
	if (!sp)
		return;
	close(sp->fd);
	while (waitpid(sp->pid, NULL, 0) < 0 && errno == EINTR)
		;
	pthread_mutex_destroy(&sp->mu);
	free(sp);
}
