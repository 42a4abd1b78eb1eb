// Thin wrappers over Linux calls; see aug_system.h for why each exists.
#include "aug_system.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int aug_memfd_create(const char *name) { return memfd_create(name, MFD_CLOEXEC); }

int aug_socketpair_cloexec(int fds[2]) { return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds); }

int aug_pipe_cloexec_nonblock(int fds[2]) { return pipe2(fds, O_CLOEXEC | O_NONBLOCK); }

int aug_set_parent_death_signal(pid_t expected_parent) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return -1;
    if (getppid() != expected_parent) return -1;
    return 0;
}

int aug_spawn(const char *path, char *const argv[], char *const envp[], const int *child_fds, int count,
              pid_t *pid_out) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return rc;
    rc = posix_spawnattr_init(&attr);
    if (rc != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return rc;
    }
    // Move each inherited fd to 3+i. A source may itself sit in 3..3+count, so dup them first to
    // scratch numbers above every source and target, then down (closefrom drops the scratch).
    int scratch = 3 + count;
    for (int i = 0; i < count; i++) if (child_fds[i] >= scratch) scratch = child_fds[i] + 1;
    for (int i = 0; i < count && rc == 0; i++) rc = posix_spawn_file_actions_adddup2(&actions, child_fds[i], scratch + i);
    for (int i = 0; i < count && rc == 0; i++) rc = posix_spawn_file_actions_adddup2(&actions, scratch + i, 3 + i);
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3 + count);
    sigset_t mask, defaults;
    sigemptyset(&mask);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attr, &mask);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &defaults);
    if (rc == 0) rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (rc == 0) rc = posix_spawn(pid_out, path, &actions, &attr, argv, envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}

long aug_send_with_fd(int socket_fd, const void *buf, size_t len, int fd) {
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    union {
        char bytes[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof control.bytes;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    ssize_t n;
    do n = sendmsg(socket_fd, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return (long)n;
}

int aug_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

void aug_populate_write(void *addr, size_t len) {
    if (madvise(addr, len, MADV_POPULATE_WRITE) == 0) return;
    volatile unsigned char *p = addr;
    long page = sysconf(_SC_PAGESIZE);
    for (size_t off = 0; off < len; off += (size_t)page) p[off] = p[off];
}

static int aug_worker_flag = 0;

int aug_is_worker_process(void) { return aug_worker_flag; }

// Runs before main(). Default priority, so it runs after the Swift runtime's image registration
// constructors (swiftrt.o is linked first), which the worker needs to find types by name.
__attribute__((constructor)) static void aug_worker_hook(void) {
    const char *value = getenv(AUG_WORKER_ENV);
    if (value == NULL || aug_worker_main == NULL) return;
    char *end = NULL;
    long fd = strtol(value, &end, 10);
    if (end == value || fd < 0) return;
    aug_worker_flag = 1;
    unsetenv(AUG_WORKER_ENV);
    _exit(aug_worker_main((int)fd));
}

void aug_release_free_memory(void) { malloc_trim(0); }
