// Network namespaces: following a TUN interface that was moved to another namespace
// (`ip link set IF netns OTHER`), as a container platform does with a pod's interface.
#define _GNU_SOURCE
#include "CFerryLinux.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef TUNGETDEVNETNS
#define TUNGETDEVNETNS _IO('T', 227) // Linux 5.2
#endif

int ferry_tun_get_netns(int fd) {
    int r = ioctl(fd, TUNGETDEVNETNS);
    return r < 0 ? -errno : r;
}

int ferry_netns_identity(int nsfd, uint64_t *identity) {
    struct stat st;
    int r = nsfd >= 0 ? fstat(nsfd, &st) : stat("/proc/thread-self/ns/net", &st);
    if (r < 0) return -errno;
    // Namespaces live on the nsfs pseudo file system: the inode number names one.
    *identity = (uint64_t)st.st_ino;
    return 0;
}

int ferry_socket_in_netns(int nsfd, int domain, int type, int protocol) {
    if (nsfd < 0) {
        int s = socket(domain, type, protocol);
        return s < 0 ? -errno : s;
    }
    // A socket belongs to the namespace of the thread that creates it, and a thread may
    // switch its own network namespace: switch, create, switch back. The rest of the
    // process (the UDP sockets above all) stays where it is.
    int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0) return -errno;
    if (setns(nsfd, CLONE_NEWNET) < 0) {
        int e = errno;
        close(home);
        return -e;
    }
    int s = socket(domain, type, protocol);
    int e = errno;
    if (setns(home, CLONE_NEWNET) < 0) {
        // This thread cannot go home; it must not go on creating sockets in the wrong place.
        abort();
    }
    close(home);
    return s < 0 ? -e : s;
}
