/*
 * net.c - gort_listen and gort_dial: TCP by "host:port" strings, in the
 * manner of libdill's tcp_listen/tcp_connect and Go's net.Listen/Dial.
 *
 * Addresses: "host:port", split at the last colon; an IPv6 host is
 * written in brackets ("[::1]:80", "[fe80::1%eth0]:80"; a zone is an
 * interface's name or index), an unbracketed host with a colon is
 * refused. The port is decimal, 0 to 65535 (leading zeros allowed). The
 * host is an IPv4 literal, a bracketed IPv6 literal, a name, or empty:
 * for gort_listen, empty is every address of the machine (a dual-stack
 * socket on "::" that also takes IPv4, or 0.0.0.0 where the system has no
 * IPv6); for gort_dial, the local system (loopback), as in Go. Anything
 * else is EINVAL.
 *
 * Resolution: literals are converted with getaddrinfo(AI_NUMERICHOST),
 * which never blocks. A name is looked up with getaddrinfo bracketed by
 * gort_entersyscall/gort_exitsyscall: the lookup may read files and wait
 * on DNS, so the P is handed to another M if it lasts (sysmon's retake),
 * and the other goroutines keep running. A dial with a deadline waits
 * for the lookup only until then (ETIMEDOUT), as Go's lookup under a
 * context does: the lookup runs in a goroutine of its own, which goes on
 * to its end when nobody waits for it any more, and frees what it found.
 * A dial outside a goroutine (a plain thread, or before gort_main) runs
 * it in a thread of its own and waits with a timeout of its own, on
 * nothing of the run's: a run that ends meanwhile abandons its
 * goroutines and timers, and the dial still ends by its deadline. Its
 * failure becomes an errno:
 * no such host (EAI_NONAME, EAI_NODATA, EAI_ADDRFAMILY, EAI_FAIL) is
 * EHOSTUNREACH, a temporary failure (EAI_AGAIN) EAGAIN, EAI_MEMORY
 * ENOMEM, EAI_SYSTEM the errno it left.
 *
 * Sockets: created SOCK_NONBLOCK | SOCK_CLOEXEC with TCP_NODELAY (Go's
 * default for TCP). Listeners get SO_REUSEADDR (a restarted server can
 * bind while old connections are in TIME_WAIT); accepted connections
 * inherit TCP_NODELAY from the listener on Linux. When called from a
 * goroutine, the returned fd is already registered with the netpoller
 * (pd_open, as the I/O calls of io.c do at first use), so a failure to
 * register comes back here rather than at the first gort_accept; from a
 * plain thread it is registered at its first use by a goroutine.
 *
 * Dialing tries each resolved address in turn, in getaddrinfo's order
 * (RFC 6724), as Go's dialSerial does, and returns the first connection
 * made or else the first error. With a deadline, each attempt gets Go's
 * partialDeadline: an equal share of the time left over the addresses
 * left, at least 2 s (or all that is left). A deadline already passed is
 * ETIMEDOUT before anything is resolved. Each connect is started on the
 * non-blocking socket and waited for with gort_fd_wait (which parks a
 * goroutine on the netpoller, or polls on a plain thread, until the
 * socket is writable or the deadline passes); the outcome is the
 * socket's SO_ERROR, and a wake-up while the handshake is still going
 * (Go issues 14548, 19289) waits again; gort_connect's connect_status
 * (io.c) reads it, and finishes a connection made with one more connect,
 * so that the fd is connected for good (a later connect on it fails with
 * EISCONN).
 *
 * errno: a goroutine may resume on another thread after any park or
 * hand-off, so errors are carried in locals and stored with seterrno at
 * the end, as in io.c.
 */
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netpoll.h"

/* Go's saneMinimum: an attempt of a multi-address dial gets at least
 * this much of the deadline, if that much is left. */
#define DIAL_MIN_SHARE (2 * 1000000000LL)

/* A parsed "host:port". host is empty for ":port". */
typedef struct netaddr {
	char host[NI_MAXHOST];
	char port[24];
	bool bracketed;
} netaddr;

/* Split addr into host and port; EINVAL if it is malformed. */
static int parse_addr(const char *addr, netaddr *na)
{
	if (!addr)
		return EINVAL;
	const char *host, *hend, *colon;
	na->bracketed = false;
	if (addr[0] == '[') {
		host = addr + 1;
		hend = strchr(host, ']');
		if (!hend || hend == host || hend[1] != ':')
			return EINVAL;
		colon = hend + 1;
		na->bracketed = true;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return EINVAL;
		host = addr;
		hend = colon;
	}
	for (const char *c = host; c < hend; c++)
		if (*c == '[' || *c == ']' || (*c == ':' && !na->bracketed))
			return EINVAL; /* an IPv6 host needs brackets */
	size_t hlen = (size_t)(hend - host);
	if (hlen >= sizeof na->host)
		return EINVAL;
	memcpy(na->host, host, hlen);
	na->host[hlen] = '\0';

	/* Leading zeros are allowed, as Go's parsePort does. */
	const char *p = colon + 1;
	if (*p == '\0')
		return EINVAL;
	long port = 0;
	for (const char *c = p; *c; c++) {
		if (*c < '0' || *c > '9')
			return EINVAL;
		port = port * 10 + (*c - '0');
		if (port > 65535)
			return EINVAL;
	}
	snprintf(na->port, sizeof na->port, "%ld", port);
	return 0;
}

/* A getaddrinfo failure as an errno; sys is the errno left by it. */
static int gai_errno(int rc, int sys)
{
	switch (rc) {
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
	case EAI_ADDRFAMILY:
#endif
	case EAI_FAIL:
		return EHOSTUNREACH;
	case EAI_AGAIN:
		return EAGAIN;
	case EAI_MEMORY:
		return ENOMEM;
	case EAI_SYSTEM:
		return sys ? sys : EIO;
	case EAI_FAMILY:
	case EAI_SOCKTYPE:
	case EAI_SERVICE:
	case EAI_BADFLAGS:
		return EINVAL;
	default:
		return EIO;
	}
}

/* Look na's host up as a name, under the syscall hand-off. Returns 0 or
 * an errno. */
static int lookup_name(const netaddr *na, const struct addrinfo *hints, struct addrinfo **res)
{
	gort_entersyscall();
	int rc = getaddrinfo(na->host, na->port, hints, res);
	int sys = rc == EAI_SYSTEM ? errno : 0;
	gort_exitsyscall();
	return rc == 0 ? 0 : gai_errno(rc, sys);
}

/* A lookup that its caller may stop waiting for: it runs in a goroutine
 * of its own (lookup_run), which reports on done, and whichever of the
 * two lets go of it last frees it, the result included when the caller
 * gave up.
 *
 * A plain thread's lookup runs in a thread of its own instead
 * (lookup_thread), which reports on ready, and the dial sleeps on that
 * note with a timeout of its own: nothing of it depends on the run,
 * which may end while it waits (gort_main returns) and abandon its
 * goroutines and timers. On a goroutine and a gort_timer the dial would
 * then wait for ever past its deadline, and the lookup never be freed. */
typedef struct lookup {
	atomic_int refs;
	netaddr na;
	struct addrinfo hints;
	struct addrinfo *res;
	int err;
	gort_chan *done; /* a goroutine's dial; capacity 1: the report never waits */
	note ready;      /* a plain thread's dial */
} lookup;

static void lookup_release(lookup *lk)
{
	if (atomic_fetch_sub(&lk->refs, 1) != 1)
		return;
	if (lk->res)
		freeaddrinfo(lk->res);
	gort_chan_free(lk->done);
	free(lk);
}

/* The lookup, reported on done (a goroutine's dial) or ready. */
static void lookup_report(lookup *lk)
{
	lk->err = lookup_name(&lk->na, &lk->hints, &lk->res);
	if (lk->done)
		gort_chan_send(lk->done, NULL);
	else
		notewakeup(&lk->ready);
	lookup_release(lk);
}

static void lookup_run(void *arg)
{
	lookup_report(arg);
}

static void *lookup_thread(void *arg)
{
	lookup_report(arg);
	return NULL;
}

/* Start lk's lookup: in a goroutine for a goroutine's dial (t: its
 * timer), in a detached thread for a plain thread's. Returns whether it
 * runs. */
static bool lookup_start(lookup *lk, gort_timer *t)
{
	if (t)
		return gort_go(lookup_run, lk) >= 0;
	pthread_attr_t attr;
	if (pthread_attr_init(&attr) != 0)
		return false;
	pthread_t th;
	bool ok = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
	          pthread_create(&th, &attr, lookup_thread, lk) == 0;
	pthread_attr_destroy(&attr);
	return ok;
}

/* Whether lk's report came before the deadline. A goroutine parks on
 * the report and its timer t; a plain thread sleeps on the note. */
static bool lookup_wait(lookup *lk, gort_timer *t, int64_t deadline)
{
	if (!t) {
		int64_t left = deadline - gort_nanotime();
		return notetsleep(&lk->ready, left > 0 ? left : 0);
	}
	gort_case cases[2] = {
		{.chan = lk->done, .dir = GORT_RECV},
		{.chan = gort_timer_chan(t), .dir = GORT_RECV},
	};
	return gort_select(cases, 2, true) == 0;
}

/* lookup_name, given up when the deadline passes (ETIMEDOUT), as Go's
 * cgoLookupIP gives up when its context ends: the lookup itself cannot
 * be stopped, so it goes on in a goroutine (or thread) that nobody waits
 * for. With no memory or thread for it, the lookup is made in place and
 * lasts as long as it lasts. */
static int lookup_by(const netaddr *na, const struct addrinfo *hints, int64_t deadline,
                     struct addrinfo **res)
{
	lookup *lk = calloc(1, sizeof *lk);
	gort_timer *t = NULL;
	bool ok = false;
	if (lk) {
		lk->na = *na;
		lk->hints = *hints;
		atomic_init(&lk->refs, 2);
		if (getg() == NULL) {
			ok = true;
		} else {
			lk->done = gort_chan_make(0, 1);
			t = gort_timer_new(deadline - gort_nanotime(), 0);
			ok = lk->done && t;
		}
	}
	if (!ok || !lookup_start(lk, t)) {
		if (t)
			gort_timer_free(t);
		if (lk)
			gort_chan_free(lk->done);
		free(lk);
		return lookup_name(na, hints, res);
	}
	int err = ETIMEDOUT;
	if (lookup_wait(lk, t, deadline)) {
		err = lk->err;
		*res = lk->res;
		lk->res = NULL;
	}
	if (t)
		gort_timer_free(t);
	lookup_release(lk);
	return err;
}

/* An IPv6 literal with a zone that names an interface ("::1%lo"), which
 * getaddrinfo takes on a link-local address only: the name is turned
 * into the interface's index, which it takes on any, as Go's zone
 * names are. Returns 0 or an errno (EINVAL: no such literal or zone). */
static int resolve_zone(const netaddr *na, const struct addrinfo *hints, struct addrinfo **res)
{
	const char *pct = strchr(na->host, '%');
	if (!pct || pct[1] == '\0' || strspn(pct + 1, "0123456789") == strlen(pct + 1))
		return EINVAL; /* no zone, or a number getaddrinfo refused */
	unsigned idx = if_nametoindex(pct + 1);
	if (idx == 0)
		return EINVAL;
	char host[NI_MAXHOST];
	snprintf(host, sizeof host, "%.*s%%%u", (int)(pct - na->host), na->host, idx);
	int rc = getaddrinfo(host, na->port, hints, res);
	return rc == 0 ? 0 : rc == EAI_MEMORY ? ENOMEM : EINVAL;
}

/* Resolve na into TCP addresses (*res, for freeaddrinfo). A literal or
 * an empty host is converted in place; a name is looked up under the
 * syscall hand-off, until the deadline if there is one (0: none).
 * Returns 0 or an errno. */
static int resolve(const netaddr *na, bool passive, int64_t deadline, struct addrinfo **res)
{
	struct addrinfo hints = {
		.ai_family = na->bracketed ? AF_INET6 : AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_protocol = IPPROTO_TCP,
		.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0),
	};
	const char *node = na->host[0] ? na->host : NULL;
	if (!node) {
		/* No host: loopback (or the wildcard, passive); nothing to
		 * look up. */
		int rc = getaddrinfo(NULL, na->port, &hints, res);
		return rc == 0 ? 0 : gai_errno(rc, errno);
	}
	struct addrinfo nh = hints;
	nh.ai_flags |= AI_NUMERICHOST;
	int rc = getaddrinfo(node, na->port, &nh, res);
	if (rc == 0)
		return 0;
	if (na->bracketed) { /* brackets hold an IPv6 literal */
		if (rc == EAI_MEMORY)
			return ENOMEM;
		return resolve_zone(na, &nh, res);
	}
	if (rc != EAI_NONAME)
		return gai_errno(rc, errno);
	if (deadline == 0)
		return lookup_name(na, &hints, res);
	return lookup_by(na, &hints, deadline, res);
}

/* Register fd with the netpoller when called from a goroutine. */
static int netregister(int fd)
{
	g *gp = rt_enter();
	int err = 0;
	if (gp) {
		pollDesc *pd;
		uint32_t seq;
		int st = pd_open(fd, &pd, &seq);
		if (st < 0)
			err = -st;
	}
	rt_exit(gp);
	return err;
}

static void nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Close fd, keeping err. */
static int closefail(int fd, int err)
{
	gort_close(fd);
	return err;
}

/* ---- listen ---- */

/* A listening socket on sa. dual: an IPv6 socket that takes IPv4 too.
 * Returns the fd, or -errno. */
static int listen_on(int family, const struct sockaddr *sa, socklen_t salen, int backlog,
                     bool dual)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	int one = 1, zero = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    (dual && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) != 0) ||
	    bind(fd, sa, salen) != 0 || listen(fd, backlog) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	nodelay(fd);
	return fd;
}

GORT_API int gort_listen(const char *addr, int backlog)
{
	netaddr na;
	int err = parse_addr(addr, &na);
	if (err) {
		errno = err;
		return -1;
	}
	if (backlog <= 0)
		backlog = SOMAXCONN;
	int fd = -1;
	if (!na.host[0]) {
		/* Every address: dual-stack "::", else 0.0.0.0. */
		uint16_t port = (uint16_t)atoi(na.port);
		struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(port),
		                          .sin6_addr = IN6ADDR_ANY_INIT};
		fd = listen_on(AF_INET6, (struct sockaddr *)&s6, sizeof s6, backlog, true);
		if (fd == -EAFNOSUPPORT || fd == -EPROTONOSUPPORT || fd == -EADDRNOTAVAIL) {
			struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(port),
			                         .sin_addr.s_addr = htonl(INADDR_ANY)};
			fd = listen_on(AF_INET, (struct sockaddr *)&s4, sizeof s4, backlog, false);
		}
		if (fd < 0)
			err = -fd;
	} else {
		struct addrinfo *res = NULL;
		err = resolve(&na, true, 0, &res);
		if (!err) {
			/* A name with several addresses: the first that works. */
			int first = 0;
			for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
				bool dual = ai->ai_family == AF_INET6 &&
				            IN6_IS_ADDR_UNSPECIFIED(
				                    &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr);
				fd = listen_on(ai->ai_family, ai->ai_addr, ai->ai_addrlen, backlog,
				               dual);
				if (fd >= 0)
					break;
				if (!first)
					first = -fd;
			}
			err = fd >= 0 ? 0 : first ? first : EHOSTUNREACH;
			freeaddrinfo(res);
		}
	}
	if (!err && (err = netregister(fd)) != 0)
		closefail(fd, err);
	if (err) {
		seterrno(err);
		return -1;
	}
	return fd;
}

/* ---- dial ---- */

/* Go's partialDeadline: the deadline of one attempt with left addresses
 * still to try (this one included). 0: none. -1: already passed. */
static int64_t partial_deadline(int64_t deadline, int left)
{
	if (deadline == 0)
		return 0;
	int64_t now = gort_nanotime();
	int64_t remain = deadline - now;
	if (remain <= 0)
		return -1;
	int64_t share = remain / left;
	if (share < DIAL_MIN_SHARE)
		share = remain < DIAL_MIN_SHARE ? remain : DIAL_MIN_SHARE;
	return now + share;
}

/* Connect the non-blocking socket fd to sa by deadline (0: none).
 * Returns 0 or an errno. */
static int connect_by(int fd, const struct sockaddr *sa, socklen_t salen, int64_t deadline)
{
	if (connect(fd, sa, salen) == 0)
		return 0;
	int e = errno;
	if (e == EISCONN)
		return 0;
	if (e != EINPROGRESS && e != EINTR && e != EALREADY)
		return e;
	for (;;) {
		if (gort_fd_wait(fd, GORT_WRITE, deadline) < 0)
			return geterrno();
		int err = connect_status(fd, sa, salen); /* woken early: again */
		if (err != EINPROGRESS)
			return err;
	}
}

GORT_API int gort_dial(const char *addr, int64_t deadline)
{
	netaddr na;
	int err = parse_addr(addr, &na);
	if (err) {
		errno = err;
		return -1;
	}
	if (deadline < 0 || (deadline > 0 && deadline <= gort_nanotime())) {
		errno = ETIMEDOUT;
		return -1;
	}
	struct addrinfo *res = NULL;
	if ((err = resolve(&na, false, deadline, &res)) != 0) {
		seterrno(err);
		return -1;
	}
	int n = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
		n++;
	int fd = -1, first = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next, n--) {
		int64_t dl = partial_deadline(deadline, n);
		if (dl < 0) {
			if (!first)
				first = ETIMEDOUT;
			break;
		}
		int e;
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0) {
			e = errno;
		} else {
			nodelay(fd);
			e = connect_by(fd, ai->ai_addr, ai->ai_addrlen, dl);
			if (!e)
				e = netregister(fd); /* registered by the wait, or now */
			if (!e)
				break;
			closefail(fd, e);
			fd = -1;
		}
		if (!first)
			first = e;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		seterrno(first ? first : EHOSTUNREACH);
		return -1;
	}
	return fd;
}
