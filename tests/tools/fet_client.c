/* P1-T1 on LostLove's own TLS client (research/censorship.md; docs/obfuscation.md
 * "How we test it"): the GFW's fully-encrypted-traffic rule judges only the
 * first data packet a client sends on a connection, so this opens N
 * connections with the client's real connection code (client/client_ws.c, the
 * same SSL_CTX, ClientHello options and upgrade path as lostlove-client) to a
 * loopback listener, reads what each sends first — its first TLS record —
 * and requires every one to be exempt, under the paper's Ex4 threshold and
 * under nDPI's. It prints which exemptions applied, so a change that keeps
 * only one of them shows.
 *
 *   fet_client [N]     N connections (default 1000); exit 0 when all exempt */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/client_ws.h"
#include "fet.h"
#include "front/upgrade.h"
#include "io/udp.h"

enum { RECORD_MAX = 5 + 16384 };

static int listen_loopback(struct udp_endpoint *to)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(to, 0, sizeof(*to));
	to->in4.sin_family = AF_INET;
	to->in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to->len = sizeof(to->in4);
	if (fd < 0 || bind(fd, &to->sa, to->len) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, &to->sa, &to->len) < 0) {
		perror("fet_client: listener");
		exit(1);
	}
	return fd;
}

/* Drives the client until the server side has its first record (or
 * whatever arrived first, if that is not a TLS record). Returns its
 * length, or -1. */
static ssize_t first_payload(struct client_ws *w, int srv, uint8_t *buf)
{
	size_t got = 0, want = 5;
	bool opened;

	for (int round = 0; round < 200 && got < want; round++) {
		struct pollfd p = {.fd = srv, .events = POLLIN};
		ssize_t n;

		if (client_ws_io(w, NULL, NULL, &opened) < 0)
			return -1;
		if (poll(&p, 1, 10) <= 0)
			continue;
		n = recv(srv, buf + got, RECORD_MAX - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
		if (got >= 5 && buf[0] == 0x16)
			want = 5 + ((size_t)buf[3] << 8 | buf[4]);
		else
			want = got; /* not TLS: judge what came */
	}
	return got >= want ? (ssize_t)want : -1;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000, lfd, exempt = 0, by_ex5 = 0, by_ex1 = 0;
	static uint8_t buf[RECORD_MAX];
	uint8_t server_pub[32], msg[1348];
	struct upgrade_key key;
	struct udp_endpoint to;

	memset(server_pub, 0x42, sizeof(server_pub));
	memset(msg, 0x5a, sizeof(msg)); /* stands for message 1: it travels after the hello */
	if (n <= 0 || upgrade_key_derive(&key, server_pub) < 0)
		return 1;
	lfd = listen_loopback(&to);
	for (int i = 0; i < n; i++) {
		struct client_ws_config cfg = {
		    .sni = "www.example.com", .host = "www.example.com", .path = "/", .key = &key};
		struct client_ws *w;
		struct fet_result paper, ndpi;
		ssize_t len;
		int srv;

		if (client_ws_open(&w, &cfg, &to, msg, sizeof(msg), 1764800000) < 0) {
			fprintf(stderr, "fet_client: client_ws_open failed\n");
			return 1;
		}
		srv = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		len = srv < 0 ? -1 : first_payload(w, srv, buf);
		if (len < 0) {
			fprintf(stderr, "fet_client: connection %d sent no first payload\n", i);
			return 1;
		}
		fet_check(buf, (size_t)len, FET_RUN_PAPER, &paper);
		fet_check(buf, (size_t)len, FET_RUN_NDPI, &ndpi);
		if (paper.exempt_by && ndpi.exempt_by)
			exempt++;
		by_ex5 += !!(paper.exempt_by & FET_EX5_PROTOCOL);
		by_ex1 += !!(paper.exempt_by & FET_EX1_POPCOUNT);
		client_ws_free(w);
		close(srv);
	}
	close(lfd);
	printf("fet_client: %d/%d first payloads exempt (Ex5 %d, Ex1 %d)\n", exempt, n, by_ex5,
	       by_ex1);
	return exempt == n ? 0 : 1;
}
