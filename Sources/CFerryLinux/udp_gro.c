// Receiving with UDP GRO: the kernel hands over several datagrams of one sender, equal in
// size but the last, as one (up to 64 KiB) with their size in a UDP_GRO control message;
// here they are cut again into one packet buffer each, in order.
#define _GNU_SOURCE
#include "CFerryLinux.h"
#include "udp_common.h"

#include <errno.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/// A coalesced datagram is at most 64 KiB; each message gets that much overflow behind the
/// room of its packet buffer, and as much again in front of the overflow, where the part
/// in the buffer is moved when the datagram must wait for the next call.
#define OVERFLOW_SIZE 65536
#define FRONT_SIZE 65536

struct ferry_gro {
    unsigned capacity;
    uint8_t *area;  ///< capacity × (FRONT_SIZE + OVERFLOW_SIZE)
    /// Messages received but not yet handed out: [next, received); their bytes are
    /// contiguous from start[i], and message `next` continues at `offset`.
    unsigned received, next;
    uint32_t offset;
    /// The last receive brought coalesced datagrams: ask for fewer messages, so that the
    /// batch's spare buffers take their segments.
    int coalescing;
    /// Coalesced datagrams received so far (for tests and diagnostics).
    uint64_t coalesced;
    uint8_t *start[FERRY_BATCH_MAX];
    uint32_t length[FERRY_BATCH_MAX];
    uint32_t segment[FERRY_BATCH_MAX];
    ferry_address remote[FERRY_BATCH_MAX];
    ferry_address local[FERRY_BATCH_MAX];
};

ferry_gro *ferry_gro_create(unsigned messages) {
    if (messages == 0 || messages > FERRY_BATCH_MAX) return NULL;
    ferry_gro *g = calloc(1, sizeof *g);
    if (g == NULL) return NULL;
    // Untouched pages cost nothing: only the overflow of messages that brought coalesced
    // datagrams becomes resident.
    g->area = malloc((size_t)messages * (FRONT_SIZE + OVERFLOW_SIZE));
    if (g->area == NULL) {
        free(g);
        return NULL;
    }
    g->capacity = messages;
    return g;
}

uint64_t ferry_gro_coalesced(const ferry_gro *g) { return g->coalesced; }

void ferry_gro_destroy(ferry_gro *g) {
    if (g == NULL) return;
    free(g->area);
    free(g);
}

static uint8_t *overflow_of(ferry_gro *g, unsigned i) { return g->area + (size_t)i * (FRONT_SIZE + OVERFLOW_SIZE) + FRONT_SIZE; }

static uint32_t decode_gro_size(struct msghdr *m) {
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int size;
            memcpy(&size, CMSG_DATA(c), sizeof size);
            return size > 0 ? (uint32_t)size : 0;
        }
    }
    return 0;
}

/// Copies bytes [from, from+n) of a datagram whose first `head` bytes are at `a` and the
/// rest at `b`.
static void copy_split(uint8_t *out, const uint8_t *a, uint32_t head, const uint8_t *b, uint32_t from, uint32_t n) {
    if (from < head) {
        uint32_t k = head - from < n ? head - from : n;
        memcpy(out, a + from, k);
        out += k;
        from += k;
        n -= k;
    }
    if (n > 0) memcpy(out, b + (from - head), n);
}

/// Hands out the waiting messages' segments into packets[slots[first...]]; returns how
/// many buffers were filled.
static unsigned hand_out(ferry_gro *g, ferry_packet *packets, const uint32_t *slots, unsigned first, unsigned count) {
    unsigned n = first;
    while (n < count && g->next < g->received) {
        unsigned m = g->next;
        ferry_packet *p = &packets[slots[n++]];
        uint32_t left = g->length[m] - g->offset;
        uint32_t size = g->segment[m] > 0 && g->segment[m] < left ? g->segment[m] : left;
        if (size <= p->length) {
            memcpy(p->data + p->offset, g->start[m] + g->offset, size);
            p->length = size;
        } else {
            p->length = 0;  // larger than the room: of no use, reported empty
        }
        p->remote = g->remote[m];
        p->local = g->local[m];
        g->offset += size;
        if (g->offset >= g->length[m]) {
            g->next++;
            g->offset = 0;
        }
    }
    return n - first;
}

/// Puts the buffers handed out (at the places out[0..<n] of slots, in order) at the front
/// of slots[0..<count], the others behind them.
static void reorder(uint32_t *slots, unsigned count, const uint8_t *out, unsigned n) {
    uint8_t used[FERRY_BATCH_MAX];
    uint32_t ordered[FERRY_BATCH_MAX];
    memset(used, 0, count);
    for (unsigned i = 0; i < n; i++) {
        ordered[i] = slots[out[i]];
        used[out[i]] = 1;
    }
    unsigned r = n;
    for (unsigned j = 0; j < count; j++) {
        if (!used[j]) ordered[r++] = slots[j];
    }
    memcpy(slots, ordered, count * sizeof *slots);
}

/// Keeps messages [i, received) for the next calls, message i from byte `from` on: each
/// one's bytes in its buffer move in front of its overflow, so that it is contiguous.
static void defer(ferry_gro *g, ferry_packet *packets, const uint32_t *slots, struct mmsghdr *msgs,
                  const inet_address *names, const uint32_t *room, unsigned i, uint32_t from, unsigned received) {
    g->received = 0;
    g->next = 0;
    g->offset = 0;
    for (unsigned k = i; k < received; k++) {
        ferry_packet *p = &packets[slots[k]];
        uint32_t length = (msgs[k].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : msgs[k].msg_len;
        uint32_t skip = k == i ? from : 0;
        uint8_t *overflow = overflow_of(g, k);
        uint8_t *start = overflow + (skip > room[k] ? skip - room[k] : 0);
        if (skip < room[k] && skip < length) {
            uint32_t inBuffer = (length < room[k] ? length : room[k]) - skip;
            start = overflow - inBuffer;
            memcpy(start, p->data + p->offset + skip, inBuffer);
        }
        unsigned w = g->received++;
        g->start[w] = start;
        g->length[w] = length > skip ? length - skip : 0;
        g->segment[w] = decode_gro_size(&msgs[k].msg_hdr);
        decode_remote(&names[k], &g->remote[w]);
        decode_local(&msgs[k].msg_hdr, &g->local[w]);
    }
}

int ferry_udp_recv_gro(int fd, ferry_gro *g, ferry_packet *packets, uint32_t *slots, unsigned count, int flags) {
    if (count > FERRY_BATCH_MAX) count = FERRY_BATCH_MAX;
    if (count == 0) return 0;
    if (g->next < g->received) return (int)hand_out(g, packets, slots, 0, count);

    // Messages go to the first buffers (with overflow behind them); the buffers after them
    // take the segments of coalesced datagrams.
    unsigned vlen = count < g->capacity ? count : g->capacity;
    if (g->coalescing && vlen > 4) vlen = 4;
    struct mmsghdr msgs[FERRY_BATCH_MAX];
    struct iovec iov[FERRY_BATCH_MAX][2];
    inet_address names[FERRY_BATCH_MAX];
    control_buffer control[FERRY_BATCH_MAX];
    uint32_t room[FERRY_BATCH_MAX];
    for (unsigned i = 0; i < vlen; i++) {
        ferry_packet *p = &packets[slots[i]];
        room[i] = p->length < FRONT_SIZE ? p->length : FRONT_SIZE;
        iov[i][0].iov_base = p->data + p->offset;
        iov[i][0].iov_len = room[i];
        iov[i][1].iov_base = overflow_of(g, i);
        iov[i][1].iov_len = OVERFLOW_SIZE;
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_name = &names[i];
        msgs[i].msg_hdr.msg_namelen = sizeof names[i];
        msgs[i].msg_hdr.msg_iov = iov[i];
        msgs[i].msg_hdr.msg_iovlen = 2;
        msgs[i].msg_hdr.msg_control = control[i].bytes;
        msgs[i].msg_hdr.msg_controllen = CONTROL_SIZE;
    }
    int received;
    do {
        received = recvmmsg(fd, msgs, vlen, flags, NULL);
    } while (received < 0 && errno == EINTR);
    if (received < 0) return -errno;

    uint8_t out[FERRY_BATCH_MAX];  // places in slots, in the order handed out
    unsigned n = 0, spare = vlen;
    g->coalescing = 0;
    for (unsigned i = 0; i < (unsigned)received; i++) {
        ferry_packet *p = &packets[slots[i]];
        uint32_t length = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : msgs[i].msg_len;
        uint32_t segment = decode_gro_size(&msgs[i].msg_hdr);
        decode_remote(&names[i], &p->remote);
        decode_local(&msgs[i].msg_hdr, &p->local);
        int coalesced = segment > 0 && segment < length;
        g->coalescing |= coalesced;
        g->coalesced += (uint64_t)coalesced;
        uint32_t first = coalesced ? segment : length;
        out[n++] = (uint8_t)i;
        if (first > room[i]) {
            // Datagrams larger than a buffer are of no use to WireGuard: one empty packet.
            p->length = 0;
            continue;
        }
        // The first (or only) datagram is in place in its buffer; the others of a
        // coalesced one go to the spare buffers.
        p->length = first;
        uint32_t done = first;
        while (done < length && spare < count) {
            ferry_packet *q = &packets[slots[spare]];
            uint32_t size = length - done < segment ? length - done : segment;
            if (size <= q->length) {
                copy_split(q->data + q->offset, p->data + p->offset, room[i], overflow_of(g, i), done, size);
                q->length = size;
            } else {
                q->length = 0;
            }
            q->remote = p->remote;
            q->local = p->local;
            out[n++] = (uint8_t)spare++;
            done += size;
        }
        if (done < length) {
            // No spare buffers left: the rest of this message and every later message wait
            // for the next call, moved out of the buffers to be contiguous in their overflow.
            defer(g, packets, slots, msgs, names, room, i, done, (unsigned)received);
            break;
        }
    }
    // Only coalesced datagrams take buffers out of order.
    if (spare > vlen) reorder(slots, count, out, n);
    return (int)n;
}
