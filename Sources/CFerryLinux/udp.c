// UDP sockets, recvmmsg/sendmmsg and packet-info control messages (struct mmsghdr and the
// CMSG_* macros are out of Swift's reach).
#define _GNU_SOURCE
#include "CFerryLinux.h"
#include "udp_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

_Static_assert(FERRY_MSG_WAITFORONE == MSG_WAITFORONE && FERRY_MSG_DONTWAIT == MSG_DONTWAIT, "flags");

static void set_int_option(int fd, int level, int name, int value) {
    (void)setsockopt(fd, level, name, &value, sizeof value);
}

int ferry_udp_open(int family, uint16_t port, uint32_t mark, int buffer_size, uint16_t *bound_port) {
    int af = family == 4 ? AF_INET : family == 6 ? AF_INET6 : -1;
    if (af < 0) return -EAFNOSUPPORT;
    int fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0) return -errno;

    // Up to rmem_max/wmem_max first; past them when CAP_NET_ADMIN allows (as wireguard-go).
    set_int_option(fd, SOL_SOCKET, SO_RCVBUF, buffer_size);
    set_int_option(fd, SOL_SOCKET, SO_SNDBUF, buffer_size);
    set_int_option(fd, SOL_SOCKET, SO_RCVBUFFORCE, buffer_size);
    set_int_option(fd, SOL_SOCKET, SO_SNDBUFFORCE, buffer_size);

    int one = 1;
    int r;
    inet_address addr;
    memset(&addr, 0, sizeof addr);
    socklen_t addr_len;
    if (af == AF_INET) {
        r = setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
        addr.v4.sin_family = AF_INET;
        addr.v4.sin_port = htons(port);
        addr_len = sizeof addr.v4;
    } else {
        r = setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
        // IPv4 goes through the IPv4 socket; without V6ONLY the IPv6 socket could not
        // share the port with it.
        if (r == 0) r = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        addr.v6.sin6_family = AF_INET6;
        addr.v6.sin6_port = htons(port);
        addr_len = sizeof addr.v6;
    }
    if (r == 0 && mark != 0) r = setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark);
    if (r == 0) r = bind(fd, (struct sockaddr *)&addr, addr_len);
    if (r == 0) {
        addr_len = sizeof addr;
        r = getsockname(fd, (struct sockaddr *)&addr, &addr_len);
    }
    if (r != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    *bound_port = ntohs(af == AF_INET ? addr.v4.sin_port : addr.v6.sin6_port);
    return fd;
}

int ferry_udp_set_gro(int fd, int on) {
    return setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) < 0 ? -errno : 0;
}

int ferry_udp_set_mark(int fd, uint32_t mark) {
    return setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0 ? -errno : 0;
}

int ferry_socket_buffer_sizes(int fd, int *receive, int *send) {
    socklen_t n = sizeof(int);
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, receive, &n) < 0) return -errno;
    n = sizeof(int);
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, send, &n) < 0) return -errno;
    return 0;
}

int ferry_udp_recv(int fd, ferry_packet *packets, const uint32_t *slots, unsigned count, int flags) {
    if (count > FERRY_BATCH_MAX) count = FERRY_BATCH_MAX;
    if (count == 0) return 0;
    struct mmsghdr msgs[FERRY_BATCH_MAX];
    struct iovec iov[FERRY_BATCH_MAX];
    inet_address names[FERRY_BATCH_MAX];
    control_buffer control[FERRY_BATCH_MAX];
    for (unsigned i = 0; i < count; i++) {
        ferry_packet *p = &packets[slots[i]];
        iov[i].iov_base = p->data + p->offset;
        iov[i].iov_len = p->length;
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_name = &names[i];
        msgs[i].msg_hdr.msg_namelen = sizeof names[i];
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_control = control[i].bytes;
        msgs[i].msg_hdr.msg_controllen = CONTROL_SIZE;
    }
    int n;
    do {
        n = recvmmsg(fd, msgs, count, flags, NULL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) {
        ferry_packet *p = &packets[slots[i]];
        // A datagram larger than the room is of no use to WireGuard: report it empty.
        p->length = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : msgs[i].msg_len;
        decode_remote(&names[i], &p->remote);
        decode_local(&msgs[i].msg_hdr, &p->local);
    }
    return n;
}

static socklen_t encode_remote(const ferry_address *a, inet_address *out) {
    memset(out, 0, sizeof *out);
    if (a->family == 4) {
        out->v4.sin_family = AF_INET;
        out->v4.sin_port = htons(a->port);
        memcpy(&out->v4.sin_addr, a->bytes, 4);
        return sizeof out->v4;
    }
    out->v6.sin6_family = AF_INET6;
    out->v6.sin6_port = htons(a->port);
    out->v6.sin6_scope_id = a->scope;
    memcpy(&out->v6.sin6_addr, a->bytes, 16);
    return sizeof out->v6;
}

/// Appends one control message of `length` data bytes at `at` in `out`; returns the new
/// total length.
static socklen_t put_control(control_buffer *out, socklen_t at, int level, int type, const void *data, size_t length) {
    struct cmsghdr *c = (struct cmsghdr *)(out->bytes + at);
    memset(c, 0, CMSG_SPACE(length));
    c->cmsg_level = level;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(length);
    memcpy(CMSG_DATA(c), data, length);
    return at + (socklen_t)CMSG_SPACE(length);
}

/// The packet-info message that picks the source address. IPv4 names the address only (as
/// the kernel's WireGuard does), so a route change may move traffic to another interface;
/// IPv6 names the interface too when the source is link-local, where the address alone is
/// ambiguous.
static socklen_t encode_local(const ferry_address *a, control_buffer *out, socklen_t at) {
    if (a->family == 4) {
        struct in_pktinfo info;
        memset(&info, 0, sizeof info);
        memcpy(&info.ipi_spec_dst, a->bytes, 4);
        return put_control(out, at, IPPROTO_IP, IP_PKTINFO, &info, sizeof info);
    }
    if (a->family == 6) {
        struct in6_pktinfo info;
        memset(&info, 0, sizeof info);
        memcpy(&info.ipi6_addr, a->bytes, 16);
        if (IN6_IS_ADDR_LINKLOCAL(&info.ipi6_addr)) info.ipi6_ifindex = a->scope;
        return put_control(out, at, IPPROTO_IPV6, IPV6_PKTINFO, &info, sizeof info);
    }
    return at;
}

/// The control messages of one datagram or GSO group: the sticky source when set, and the
/// segment size when the group has more than one datagram.
static socklen_t encode_control(const ferry_packet *p, int family, uint16_t segment, control_buffer *out) {
    socklen_t length = p->local.family == family ? encode_local(&p->local, out, 0) : 0;
    if (segment > 0) length = put_control(out, length, SOL_UDP, UDP_SEGMENT, &segment, sizeof segment);
    return length;
}

/// Whether a send error may come from a sticky source that no longer exists.
static int source_may_be_stale(int e) { return e == EINVAL || e == EADDRNOTAVAIL || e == ENETUNREACH; }

/// Whether a send error means that the route or the kernel cannot do UDP GSO at all (no
/// checksum offload on the way out, an old kernel): then datagrams go one by one from now on.
static int gso_unsupported(int e) { return e == EIO || e == ENOPROTOOPT || e == EOPNOTSUPP; }

/// Whether a send error may be this group's alone: the kernel answers EINVAL when a group's
/// segments do not fit the route's MTU (one peer behind a smaller path), so that group goes
/// one by one and GSO stays on for the others.
static int gso_refused_for_group(int e) { return e == EINVAL; }

/// The datagrams each message of a batch carries (more than one only with UDP GSO): the
/// packets behind iovecs first[i]..<first[i]+count[i], the first of which is owners[i].
typedef struct {
    ferry_packet *owners[FERRY_BATCH_MAX];
    unsigned first[FERRY_BATCH_MAX];
    unsigned count[FERRY_BATCH_MAX];
    ferry_packet *packets[FERRY_BATCH_MAX];
} send_groups;

/// Sends the datagrams of message `i` one by one, without UDP_SEGMENT. Returns how many
/// went out.
static int send_group_singly(int fd, int family, struct mmsghdr *m, const send_groups *g, unsigned i,
                             int *first_error) {
    int sent = 0;
    struct iovec *iov = m->msg_hdr.msg_iov;
    for (unsigned j = 0; j < g->count[i]; j++) {
        control_buffer control;
        struct msghdr h = m->msg_hdr;
        h.msg_iov = &iov[j];
        h.msg_iovlen = 1;
        h.msg_controllen = encode_control(g->owners[i], family, 0, &control);
        h.msg_control = h.msg_controllen ? control.bytes : NULL;
        ssize_t r;
        do {
            r = sendmsg(fd, &h, 0);
        } while (r < 0 && errno == EINTR);
        if (r >= 0) {
            sent++;
        } else if (*first_error == 0) {
            *first_error = errno;
        }
    }
    return sent;
}

/// Sends msgs[0..<k]; see ferry_udp_send. Returns the number of datagrams sent.
static int send_all(int fd, int family, struct mmsghdr *msgs, const send_groups *g, unsigned k, int *first_error,
                    int *gso) {
    int sent = 0;
    unsigned start = 0;
    int retried = -1;
    while (start < k) {
        int r = sendmmsg(fd, msgs + start, k - start, 0);
        if (r > 0) {
            for (int i = 0; i < r; i++) sent += (int)g->count[start + (unsigned)i];
            start += (unsigned)r;
            continue;
        }
        int e = r < 0 ? errno : EIO;
        if (e == EINTR) continue;
        struct msghdr *h = &msgs[start].msg_hdr;
        ferry_packet *owner = g->owners[start];
        if (owner->local.family == family && source_may_be_stale(e) && retried != (int)start) {
            // The sticky source is gone: forget it for every datagram of the message and
            // let the kernel pick.
            for (unsigned j = 0; j < g->count[start]; j++) g->packets[g->first[start] + j]->local.family = 0;
            h->msg_controllen = encode_control(owner, family, g->count[start] > 1 ? (uint16_t)h->msg_iov[0].iov_len : 0,
                                               (control_buffer *)h->msg_control);
            if (h->msg_controllen == 0) h->msg_control = NULL;
            retried = (int)start;
            continue;
        }
        if (g->count[start] > 1 && (gso_unsupported(e) || gso_refused_for_group(e))) {
            if (gso_unsupported(e)) *gso = 0;
            sent += send_group_singly(fd, family, &msgs[start], g, start, first_error);
            start++;
            continue;
        }
        if (*first_error == 0) *first_error = e;
        // A closed or shut-down socket refuses the rest as well.
        if (e == EBADF || e == EPIPE || e == ENOTSOCK) break;
        start++;
    }
    return sent;
}

static int same_address(const ferry_address *a, const ferry_address *b) {
    return a->family == b->family && a->port == b->port && a->scope == b->scope &&
           memcmp(a->bytes, b->bytes, a->family == 4 ? 4 : 16) == 0;
}

/// UDP GSO takes at most this many segments (UDP_MAX_SEGMENTS before Linux 6.12) and a
/// datagram of at most 64 KiB.
#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES 65000

int ferry_udp_send(int fd, int family, ferry_packet *packets, const uint32_t *slots, unsigned count,
                   int *gso, int *first_error) {
    struct mmsghdr msgs[FERRY_BATCH_MAX];
    struct iovec iov[FERRY_BATCH_MAX];
    inet_address names[FERRY_BATCH_MAX];
    control_buffer control[FERRY_BATCH_MAX];
    send_groups groups;
    *first_error = 0;
    int sent = 0;
    unsigned k = 0, v = 0;  // messages, iovecs
    size_t group_bytes = 0;
    for (unsigned i = 0; i < count; i++) {
        ferry_packet *p = &packets[slots[i]];
        if (p->remote.family != family) continue;
        if (k > 0 && *gso) {
            // Join the previous message when it goes to the same place from the same source,
            // its datagrams are all this size or larger, and it has room.
            unsigned last = k - 1;
            ferry_packet *owner = groups.owners[last];
            size_t size = owner->length;
            if (v < FERRY_BATCH_MAX && groups.count[last] < GSO_MAX_SEGMENTS && group_bytes + p->length <= GSO_MAX_BYTES &&
                p->length <= size && p->length > 0 && iov[v - 1].iov_len == size &&
                same_address(&p->remote, &owner->remote) &&
                (owner->local.family == family) == (p->local.family == family) &&
                (owner->local.family != family || same_address(&p->local, &owner->local))) {
                iov[v].iov_base = p->data + p->offset;
                iov[v].iov_len = p->length;
                groups.packets[v] = p;
                v++;
                groups.count[last]++;
                group_bytes += p->length;
                msgs[last].msg_hdr.msg_iovlen = groups.count[last];
                continue;
            }
        }
        if (k > 0 && groups.count[k - 1] > 1) {
            // The previous message is complete: it is a GSO group.
            struct msghdr *h = &msgs[k - 1].msg_hdr;
            h->msg_controllen = encode_control(groups.owners[k - 1], family, (uint16_t)h->msg_iov[0].iov_len, &control[k - 1]);
            h->msg_control = control[k - 1].bytes;
        }
        if (k == FERRY_BATCH_MAX || v == FERRY_BATCH_MAX) {
            sent += send_all(fd, family, msgs, &groups, k, first_error, gso);
            k = 0;
            v = 0;
        }
        groups.owners[k] = p;
        groups.first[k] = v;
        groups.count[k] = 1;
        groups.packets[v] = p;
        group_bytes = p->length;
        iov[v].iov_base = p->data + p->offset;
        iov[v].iov_len = p->length;
        memset(&msgs[k], 0, sizeof msgs[k]);
        msgs[k].msg_hdr.msg_name = &names[k];
        msgs[k].msg_hdr.msg_namelen = encode_remote(&p->remote, &names[k]);
        msgs[k].msg_hdr.msg_iov = &iov[v];
        msgs[k].msg_hdr.msg_iovlen = 1;
        socklen_t cl = encode_control(p, family, 0, &control[k]);
        msgs[k].msg_hdr.msg_control = cl ? control[k].bytes : NULL;
        msgs[k].msg_hdr.msg_controllen = cl;
        k++;
        v++;
    }
    if (k > 0) {
        if (groups.count[k - 1] > 1) {
            struct msghdr *h = &msgs[k - 1].msg_hdr;
            h->msg_controllen = encode_control(groups.owners[k - 1], family, (uint16_t)h->msg_iov[0].iov_len, &control[k - 1]);
            h->msg_control = control[k - 1].bytes;
        }
        sent += send_all(fd, family, msgs, &groups, k, first_error, gso);
    }
    return sent;
}
