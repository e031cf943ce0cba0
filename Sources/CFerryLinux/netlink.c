// rtnetlink link events (linux/netlink.h and linux/rtnetlink.h are not in Swift's Glibc).
#define _GNU_SOURCE
#include "CFerryLinux.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int ferry_rtnl_open_link_monitor(int nsfd) {
    int fd = ferry_socket_in_netns(nsfd, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return fd;
    // Bursts (many interfaces changing at once) must not overrun us; ENOBUFS is still
    // handled by re-reading the state.
    int size = 1 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    struct sockaddr_nl addr;
    memset(&addr, 0, sizeof addr);
    addr.nl_family = AF_NETLINK;
    addr.nl_groups = RTMGRP_LINK;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int ferry_rtnl_parse(const uint8_t *buf, size_t length, int ifindex, ferry_link_event *out, int max) {
    int n = 0;
    size_t remaining = length;
    // NLMSG_OK/NLMSG_NEXT want an int length and a mutable pointer.
    const struct nlmsghdr *h = (const struct nlmsghdr *)(const void *)buf;
    for (int len = (int)remaining; n < max && NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_type == NLMSG_DONE) break;
        if (h->nlmsg_type == NLMSG_OVERRUN) {
            out[n++] = (ferry_link_event){.kind = FERRY_LINK_OVERRUN, .index = ifindex, .mtu = -1};
            continue;
        }
        if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) continue;
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg))) continue;
        const struct ifinfomsg *info = NLMSG_DATA(h);
        if (ifindex != 0 && info->ifi_index != ifindex) continue;
        ferry_link_event e = {
            .kind = h->nlmsg_type == RTM_DELLINK ? FERRY_LINK_DELETED : FERRY_LINK_NEW,
            .index = info->ifi_index,
            .flags = info->ifi_flags,
            .mtu = -1,
        };
        int attributes_length = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(struct ifinfomsg));
        for (const struct rtattr *a = IFLA_RTA(info); RTA_OK(a, attributes_length);
             a = RTA_NEXT(a, attributes_length)) {
            if (a->rta_type == IFLA_MTU && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
                uint32_t mtu;
                memcpy(&mtu, RTA_DATA(a), sizeof mtu);
                e.mtu = (int)mtu;
            }
        }
        out[n++] = e;
    }
    return n;
}
