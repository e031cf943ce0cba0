// What udp.c and udp_gro.c share: control buffers, socket addresses and their decoding.
#ifndef CFERRYLINUX_UDP_COMMON_H
#define CFERRYLINUX_UDP_COMMON_H

#include "CFerryLinux.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/// Room for one IPv4 or IPv6 packet-info message and one UDP_GRO or UDP_SEGMENT message.
#define CONTROL_SIZE 64
_Static_assert(CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int)) <= CONTROL_SIZE, "control");

typedef union {
    char bytes[CONTROL_SIZE];
    struct cmsghdr align;
} control_buffer;

typedef union {
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
} inet_address;

static inline void decode_remote(const inet_address *a, ferry_address *out) {
    memset(out, 0, sizeof *out);
    if (a->v4.sin_family == AF_INET) {
        out->family = 4;
        out->port = ntohs(a->v4.sin_port);
        memcpy(out->bytes, &a->v4.sin_addr, 4);
    } else if (a->v6.sin6_family == AF_INET6) {
        out->port = ntohs(a->v6.sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&a->v6.sin6_addr)) {
            out->family = 4;
            memcpy(out->bytes, &a->v6.sin6_addr.s6_addr[12], 4);
        } else {
            out->family = 6;
            out->scope = a->v6.sin6_scope_id;
            memcpy(out->bytes, &a->v6.sin6_addr, 16);
        }
    }
}

static inline void decode_local(struct msghdr *m, ferry_address *out) {
    memset(out, 0, sizeof *out);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
            struct in_pktinfo info;
            memcpy(&info, CMSG_DATA(c), sizeof info);
            out->family = 4;
            out->scope = (uint32_t)info.ipi_ifindex;
            memcpy(out->bytes, &info.ipi_spec_dst, 4);
            return;
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
            struct in6_pktinfo info;
            memcpy(&info, CMSG_DATA(c), sizeof info);
            out->family = 6;
            out->scope = info.ipi6_ifindex;
            memcpy(out->bytes, &info.ipi6_addr, 16);
            return;
        }
    }
}

#endif
