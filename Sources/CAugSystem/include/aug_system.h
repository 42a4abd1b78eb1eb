// aug_system.h — Linux calls Swift cannot import cleanly, and the worker hook.
//
// Why this exists: memfd_create, pipe2-style socket flags, prctl and
// posix_spawn_file_actions_addclosefrom_np need _GNU_SOURCE or are variadic/macros that Swift's
// importer cannot see. Each function here is one thin call with errno preserved.
//
// The worker hook: a program that links augload becomes a worker when the loader re-executes it
// with AUGLOAD_WORKER_FD in its environment. A constructor in this target sees the marker before
// the program's own main() runs, calls the library's worker entry point and _exit()s, so the
// user's top-level code never runs in a worker and no guard is needed.
#ifndef AUG_SYSTEM_H
#define AUG_SYSTEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "aug_atomics.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma clang assume_nonnull begin

/// The environment variable that turns a re-executed program into a worker (value: the fd number
/// of its channel to the loader).
#define AUG_WORKER_ENV "AUGLOAD_WORKER_FD"

/// The release version ("0.2.0"): Sources/Python/augload/VERSION, embedded at compile time, with
/// its trailing newline. One string for the engine, the Python package and the wheel.
const char *aug_version(void);

/// memfd_create(name, MFD_CLOEXEC): anonymous shared memory that vanishes with its last user.
int aug_memfd_create(const char *name);

/// socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC): the control channel to one worker.
int aug_socketpair_cloexec(int fds[_Nonnull 2]);

/// pipe2(fds, O_CLOEXEC | O_NONBLOCK): the loader's wake-up pipe.
int aug_pipe_cloexec_nonblock(int fds[_Nonnull 2]);

/// In the worker: ask for SIGKILL when the parent *thread* that spawned us exits, then re-check
/// that the parent is still the one we expect (it may have died before the prctl took effect).
/// Returns 0, or -1 if the parent is already gone.
int aug_set_parent_death_signal(pid_t expected_parent);

/// posix_spawn `path` with `argv`/`envp`, the child's fds `child_fds[i]` dup2'd to 3+i
/// (cloexec cleared), everything from 3+count upwards closed, SIGPIPE and the signal mask reset.
/// Returns 0 and the pid, or an errno.
int aug_spawn(const char *path, char *_Nullable const argv[_Nonnull],
              char *_Nullable const envp[_Nonnull], const int *child_fds, int count,
              pid_t *pid_out);

/// Maps in and zero-fills the pages of [addr, addr+len) in one call (MADV_POPULATE_WRITE, Linux
/// 5.14+), falling back to touching each page. One call instead of thousands of page faults.
void aug_populate_write(void *addr, size_t len);

/// sendmsg of `len` bytes of `buf` with `fd` attached as SCM_RIGHTS (serve hands the slot memfd to
/// its client this way). Returns the bytes sent or -1 with errno; retries EINTR.
long aug_send_with_fd(int socket_fd, const void *buf, size_t len, int fd);

/// pidfd_open(pid, 0): a descriptor that becomes readable when process `pid` exits (any of its
/// threads may have started us, unlike PR_SET_PDEATHSIG, which follows the starting thread).
int aug_pidfd_open(pid_t pid);

/// The library's worker entry point, defined in Swift with @_cdecl("aug_worker_main"). Weak, so
/// programs that link this target without the Swift library still load. Returns the exit status.
extern int aug_worker_main(int channel_fd) __attribute__((weak));

/// True in a process that the hook turned into a worker (for diagnostics and tests).
int aug_is_worker_process(void);

/// Returns the heap's free pages to the kernel (glibc's malloc_trim): after a large transient
/// structure is freed, so the process's resident memory follows what it still holds.
void aug_release_free_memory(void);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif

#endif
