// TUN and interface ioctls: ioctl is variadic, so Swift cannot call it.
#define _GNU_SOURCE
#include "CFerryLinux.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>

_Static_assert(FERRY_IFNAMSIZ == IFNAMSIZ, "IFNAMSIZ");
_Static_assert(FERRY_IFF_TUN == IFF_TUN && FERRY_IFF_NO_PI == IFF_NO_PI, "TUN flags");
_Static_assert(FERRY_IFF_VNET_HDR == IFF_VNET_HDR && FERRY_IFF_MULTI_QUEUE == IFF_MULTI_QUEUE, "TUN flags");
_Static_assert(FERRY_TUN_F_CSUM == TUN_F_CSUM && FERRY_TUN_F_TSO4 == TUN_F_TSO4 && FERRY_TUN_F_TSO6 == TUN_F_TSO6,
               "offloads");
_Static_assert(FERRY_IFF_UP == IFF_UP && FERRY_IFF_RUNNING == IFF_RUNNING, "interface flags");

/// Copies a name into an ifreq; names that do not fit are the caller's -EINVAL.
static int ifreq_named(struct ifreq *ifr, const char *name) {
    memset(ifr, 0, sizeof *ifr);
    size_t n = strlen(name);
    if (n == 0 || n >= IFNAMSIZ) return -EINVAL;
    memcpy(ifr->ifr_name, name, n);
    return 0;
}

static int ioctl_result(int r) { return r < 0 ? -errno : r; }

int ferry_tun_set_iff(int fd, const char *name, uint16_t flags, char out_name[FERRY_IFNAMSIZ]) {
    struct ifreq ifr;
    int r = ifreq_named(&ifr, name);
    if (r < 0) return r;
    ifr.ifr_flags = (short)flags;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) return -errno;
    memcpy(out_name, ifr.ifr_name, IFNAMSIZ);
    out_name[IFNAMSIZ - 1] = 0;
    return 0;
}

int ferry_tun_get_iff(int fd, char out_name[FERRY_IFNAMSIZ], uint16_t *flags) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    if (ioctl(fd, TUNGETIFF, &ifr) < 0) return -errno;
    memcpy(out_name, ifr.ifr_name, IFNAMSIZ);
    out_name[IFNAMSIZ - 1] = 0;
    *flags = (uint16_t)ifr.ifr_flags;
    return 0;
}

int ferry_tun_set_offload(int fd, unsigned int offloads) {
    return ioctl_result(ioctl(fd, TUNSETOFFLOAD, (unsigned long)offloads));
}

int ferry_tun_set_vnet_hdr_size(int fd, int size) { return ioctl_result(ioctl(fd, TUNSETVNETHDRSZ, &size)); }

/// An interface ioctl on `name`; the ifreq comes back filled in.
static int if_ioctl(int ctl, const char *name, unsigned long request, struct ifreq *ifr) {
    int r = ifreq_named(ifr, name);
    if (r < 0) return r;
    return ioctl_result(ioctl(ctl, request, ifr));
}

int ferry_if_get_mtu(int ctl, const char *name) {
    struct ifreq ifr;
    int r = if_ioctl(ctl, name, SIOCGIFMTU, &ifr);
    return r < 0 ? r : ifr.ifr_mtu;
}

int ferry_if_set_mtu(int ctl, const char *name, int mtu) {
    struct ifreq ifr;
    int r = ifreq_named(&ifr, name);
    if (r < 0) return r;
    ifr.ifr_mtu = mtu;
    return ioctl_result(ioctl(ctl, SIOCSIFMTU, &ifr));
}

int ferry_if_get_index(int ctl, const char *name) {
    struct ifreq ifr;
    int r = if_ioctl(ctl, name, SIOCGIFINDEX, &ifr);
    return r < 0 ? r : ifr.ifr_ifindex;
}

int ferry_if_get_flags(int ctl, const char *name) {
    struct ifreq ifr;
    int r = if_ioctl(ctl, name, SIOCGIFFLAGS, &ifr);
    return r < 0 ? r : (unsigned short)ifr.ifr_flags;
}

int ferry_if_set_flags(int ctl, const char *name, int flags) {
    struct ifreq ifr;
    int r = ifreq_named(&ifr, name);
    if (r < 0) return r;
    ifr.ifr_flags = (short)flags;
    return ioctl_result(ioctl(ctl, SIOCSIFFLAGS, &ifr));
}
