// Unix sockets, eventfd, signalfd, thread names, setns and posix_spawn: GNU-only pieces and
// sockaddr_un handling that are clumsy from Swift.
#define _GNU_SOURCE
#include "CFerryLinux.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int unix_address(const char *path, struct sockaddr_un *addr) {
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof addr->sun_path) return -ENAMETOOLONG;
    memcpy(addr->sun_path, path, n);
    return 0;
}

int ferry_unix_listen(const char *path, unsigned int mode, int backlog) {
    struct sockaddr_un addr;
    int r = unix_address(path, &addr);
    if (r < 0) return r;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    // Linux creates the socket file with the socket inode's mode (minus the umask), so a
    // fchmod before bind narrows it without touching the process-wide umask.
    if (fchmod(fd, mode) < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, backlog) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int ferry_unix_connect(const char *path) {
    struct sockaddr_un addr;
    int r = unix_address(path, &addr);
    if (r < 0) return r;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    do {
        r = connect(fd, (struct sockaddr *)&addr, sizeof addr);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int ferry_accept(int fd) {
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    return c < 0 ? -errno : c;
}

int ferry_inotify_watch_file(const char *path) {
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) return -errno;
    if (inotify_add_watch(fd, path, IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

void ferry_inotify_drain(int fd) {
    char buffer[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    while (read(fd, buffer, sizeof buffer) > 0) {
    }
}

int ferry_eventfd(void) {
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

int ferry_signalfd(const int *signals, int count) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < count; i++) sigaddset(&set, signals[i]);
    int r = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (r != 0) return -r;
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

int ferry_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n;
    do {
        n = read(fd, &info, sizeof info);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    if (n != sizeof info) return -EIO;
    return (int)info.ssi_signo;
}

void ferry_thread_set_name(const char *name) {
    char short_name[16];
    strncpy(short_name, name, sizeof short_name - 1);
    short_name[sizeof short_name - 1] = 0;
    (void)pthread_setname_np(pthread_self(), short_name);
}


int ferry_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC) < 0 ? -errno : 0; }

int ferry_spawn(const char *path, char *const argv[], char *const envp[], const int *fds, int nfds,
                int new_session) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    int r = posix_spawn_file_actions_init(&actions);
    if (r != 0) return -r;
    r = posix_spawnattr_init(&attr);
    if (r != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return -r;
    }
    // First move every source above the target range, so that a dup2 onto i never
    // clobbers a source still to be mapped, and dup2 never sees source == target (which
    // would keep close-on-exec set).
    int high[64];
    int mapped = 0;
    if (nfds > 64) r = EINVAL;
    for (int i = 0; r == 0 && i < nfds; i++) {
        high[i] = -1;
        if (fds[i] < 0) continue;
        high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, nfds > 3 ? nfds : 3);
        if (high[i] < 0) r = errno;
        mapped = i + 1;
    }
    for (int i = 0; r == 0 && i < nfds; i++) {
        if (high[i] >= 0)
            r = posix_spawn_file_actions_adddup2(&actions, high[i], i);
        else
            r = posix_spawn_file_actions_addopen(&actions, i, "/dev/null", O_RDWR, 0);
    }
#if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34)
    if (r == 0) r = posix_spawn_file_actions_addclosefrom_np(&actions, nfds);
#endif
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGPIPE);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (new_session) flags |= POSIX_SPAWN_SETSID;
    if (r == 0) r = posix_spawnattr_setsigmask(&attr, &none);
    if (r == 0) r = posix_spawnattr_setsigdefault(&attr, &defaults);
    if (r == 0) r = posix_spawnattr_setflags(&attr, flags);
    pid_t pid = -1;
    if (r == 0) r = posix_spawn(&pid, path, &actions, &attr, argv, envp);
    for (int i = 0; i < mapped; i++)
        if (high[i] >= 0) close(high[i]);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    return r != 0 ? -r : (int)pid;
}
