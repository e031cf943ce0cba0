// C shims for the Linux APIs Swift cannot reach cleanly: variadic ioctl, struct mmsghdr and
// recvmmsg/sendmmsg (_GNU_SOURCE), CMSG_* macros, netlink and a few GNU-only constants.
// Everything returns a value >= 0 on success and -errno on failure, so Swift never reads
// errno after a C call.
#ifndef CFERRYLINUX_H
#define CFERRYLINUX_H

#include <stdint.h>
#include <stddef.h>

#define FERRY_IFNAMSIZ 16
/// At most this many datagrams per recvmmsg/sendmmsg call (wireguard-go uses 128 as well).
#define FERRY_BATCH_MAX 128

/// An IP address with a port (remote side) or an interface index (local side).
typedef struct ferry_address {
    uint8_t family;    ///< 0 unset, 4 IPv4, 6 IPv6
    uint8_t reserved;
    uint16_t port;     ///< host byte order
    uint32_t scope;    ///< remote: IPv6 scope id; local: interface index
    uint8_t bytes[16]; ///< network byte order; IPv4 uses the first four
} ferry_address;

/// Metadata of one slot of a packet pool. The slot's bytes are data[0..<capacity]; the
/// packet is data[offset..<offset+length].
typedef struct ferry_packet {
    uint8_t *data;
    uint32_t capacity;
    uint32_t index;    ///< slot number in its pool
    uint32_t offset;
    uint32_t length;
    ferry_address remote; ///< source on receive, destination on send
    ferry_address local;  ///< local address a datagram arrived on (sticky source); unset = let the kernel pick
    uint32_t state;       ///< owned by the pool (0) or lent out (1); checked on release
    uint32_t reserved;
} ferry_packet;

// MARK: TUN (/dev/net/tun)

#define FERRY_IFF_TUN 0x0001
#define FERRY_IFF_NO_PI 0x1000
#define FERRY_IFF_VNET_HDR 0x4000
#define FERRY_IFF_MULTI_QUEUE 0x0100
#define FERRY_TUN_F_CSUM 0x01
#define FERRY_TUN_F_TSO4 0x02
#define FERRY_TUN_F_TSO6 0x04
#define FERRY_TUN_F_USO4 0x20
#define FERRY_TUN_F_USO6 0x40

/// TUNSETIFF on an open /dev/net/tun: creates or attaches `name` (may contain %d).
/// The name the kernel chose goes to out_name.
int ferry_tun_set_iff(int fd, const char *name, uint16_t flags, char out_name[FERRY_IFNAMSIZ]);
/// TUNGETIFF: the interface name and the flags the fd was attached with.
int ferry_tun_get_iff(int fd, char out_name[FERRY_IFNAMSIZ], uint16_t *flags);
/// TUNSETOFFLOAD (with IFF_VNET_HDR): TUN_F_* bits.
int ferry_tun_set_offload(int fd, unsigned int offloads);
/// TUNSETVNETHDRSZ.
int ferry_tun_set_vnet_hdr_size(int fd, int size);

// MARK: interface ioctls through a control socket (any AF_INET/AF_INET6 datagram socket of
// the interface's network namespace)

int ferry_if_get_mtu(int ctl, const char *name);
int ferry_if_set_mtu(int ctl, const char *name, int mtu);
int ferry_if_get_index(int ctl, const char *name);
int ferry_if_get_flags(int ctl, const char *name);
int ferry_if_set_flags(int ctl, const char *name, int flags);

#define FERRY_IFF_UP 0x1
#define FERRY_IFF_RUNNING 0x40

// MARK: network namespaces

/// TUNGETDEVNETNS: a descriptor (close-on-exec) of the network namespace the TUN interface
/// is in now, or -errno (-EBADFD once the interface is deleted).
int ferry_tun_get_netns(int fd);
/// An identity of the namespace `nsfd` (-1: the calling thread's), equal for equal ones.
int ferry_netns_identity(int nsfd, uint64_t *identity);
/// socket(2) in the network namespace `nsfd` (-1: the calling thread's); the calling
/// thread switches there and back, the rest of the process stays where it is.
int ferry_socket_in_netns(int nsfd, int domain, int type, int protocol);

// MARK: UDP

/// A UDP socket of `family` (4 or 6) bound to `port` (0: the kernel picks) on the wildcard
/// address, close-on-exec, with packet info (sticky source) enabled, IPv6-only for IPv6,
/// send and receive buffers of `buffer_size` (forced past rmem_max/wmem_max when allowed)
/// and SO_MARK `mark` when non-zero. Returns the fd; the bound port goes to *bound_port.
int ferry_udp_open(int family, uint16_t port, uint32_t mark, int buffer_size, uint16_t *bound_port);
/// SO_MARK.
int ferry_udp_set_mark(int fd, uint32_t mark);
/// The effective SO_RCVBUF and SO_SNDBUF (as the kernel reports them: twice the request).
int ferry_socket_buffer_sizes(int fd, int *receive, int *send);

/// recvmmsg with `flags` (MSG_WAITFORONE blocks until the first datagram, then takes what
/// is queued) into packets[slots[i]] at their offset, at most their length bytes each
/// (length is the room on input and the datagram size on output). Fills remote and local.
/// count is capped at FERRY_BATCH_MAX. Returns the number of datagrams or -errno.
int ferry_udp_recv(int fd, ferry_packet *packets, const uint32_t *slots, unsigned count, int flags);

/// sendmmsg of packets[slots[i]] to their remote address, from their local address when
/// set, skipping those whose remote family is not `family`. With *gso set, consecutive
/// datagrams to the same address from the same source, all of one size but the last
/// (which may be shorter), go as one message with UDP_SEGMENT (UDP GSO: up to 64 datagrams
/// pass the stack as one); if the kernel refuses that, *gso is cleared and the datagrams go
/// one by one. A datagram the kernel refuses is skipped (its error is kept) so one bad
/// destination does not hold up the others; a refused sticky source is cleared and the
/// datagram retried once. Returns the number of datagrams sent; *first_error gets the
/// first errno (0 if none).
int ferry_udp_send(int fd, int family, ferry_packet *packets, const uint32_t *slots, unsigned count,
                   int *gso, int *first_error);

/// The state of one socket's receiving with UDP GRO: room for the coalesced datagrams of
/// up to `messages` messages per recvmmsg (128 KiB each, touched only when used) and the
/// datagrams waiting for the next call. NULL when out of memory.
typedef struct ferry_gro ferry_gro;
ferry_gro *ferry_gro_create(unsigned messages);
void ferry_gro_destroy(ferry_gro *gro);
/// How many coalesced datagrams the socket received so far.
uint64_t ferry_gro_coalesced(const ferry_gro *gro);

/// As ferry_udp_recv for a socket with UDP_GRO: a coalesced datagram (several datagrams of
/// one sender, equal in size but the last) is cut again into one packet each, in order, the
/// first in the buffer it arrived in and the others in the batch's spare buffers, whose
/// order in slots[0..<count] this rewrites so that slots[0..<n] are the datagrams in the
/// order they came. What does not fit waits in `gro` and is handed out by the next call,
/// before anything new is received. Returns n or -errno.
int ferry_udp_recv_gro(int fd, ferry_gro *gro, ferry_packet *packets, uint32_t *slots, unsigned count, int flags);
/// Turns UDP_GRO on or off for a socket.
int ferry_udp_set_gro(int fd, int on);

#define FERRY_MSG_WAITFORONE 0x10000
#define FERRY_MSG_DONTWAIT 0x40

// MARK: netlink (RTMGRP_LINK)

/// A NETLINK_ROUTE socket subscribed to link events, close-on-exec, with a large buffer,
/// in the network namespace `nsfd` (-1: the calling thread's).
int ferry_rtnl_open_link_monitor(int nsfd);

enum {
    FERRY_LINK_NEW = 1,     ///< RTM_NEWLINK: flags or MTU may have changed
    FERRY_LINK_DELETED = 2, ///< RTM_DELLINK
    FERRY_LINK_OVERRUN = 3, ///< the socket lost messages (ENOBUFS): state must be re-read
};

typedef struct ferry_link_event {
    int kind;
    int index;
    unsigned int flags;
    int mtu; ///< -1 when the message carries no IFLA_MTU
} ferry_link_event;

/// Parses the netlink messages in buf, keeping those about `ifindex` (all when 0).
/// Returns how many events went to out (at most max).
int ferry_rtnl_parse(const uint8_t *buf, size_t length, int ifindex, ferry_link_event *out, int max);

// MARK: unix sockets

/// Creates a listening unix stream socket at path whose file has `mode` (set before bind,
/// so there is no window with a wider mode). Fails with -EADDRINUSE if the path exists.
int ferry_unix_listen(const char *path, unsigned int mode, int backlog);
/// Connects to a unix stream socket (close-on-exec); returns the fd or -errno.
int ferry_unix_connect(const char *path);

/// accept4 with close-on-exec and non-blocking; the connection's fd or -errno.
int ferry_accept(int fd);

/// An inotify descriptor (non-blocking, close-on-exec) that becomes readable when the file
/// at path changes links or goes away (IN_ATTRIB covers unlink of a file some socket still
/// holds, which IN_DELETE_SELF would not report). Returns the fd or -errno.
int ferry_inotify_watch_file(const char *path);
/// Reads and discards the pending events of an inotify descriptor.
void ferry_inotify_drain(int fd);

// MARK: waking, signals, processes

/// A non-blocking, close-on-exec eventfd.
int ferry_eventfd(void);
/// Blocks `signals` (count entries) in the calling thread (and the threads it creates)
/// and returns a close-on-exec signalfd for them.
int ferry_signalfd(const int *signals, int count);
/// Reads one signal from a signalfd: the signal number, or -errno.
int ferry_signalfd_read(int fd);
/// Names the calling thread (at most 15 bytes are kept).
void ferry_thread_set_name(const char *name);

/// pipe2 with O_CLOEXEC: fds[0] reads, fds[1] writes. 0 or -errno.
int ferry_pipe(int fds[2]);

/// posix_spawn of `path` where fds[i] becomes descriptor i in the child (-1: /dev/null),
/// nothing else is inherited, the signal mask is empty and SIGTERM, SIGINT, SIGHUP and
/// SIGPIPE have their default action; with `new_session` the child gets its own session
/// (no controlling terminal). Safe in a multi-threaded process, unlike fork().
/// Returns the child's pid or -errno.
int ferry_spawn(const char *path, char *const argv[], char *const envp[], const int *fds, int nfds,
                int new_session);

#endif
