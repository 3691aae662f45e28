// SPDX-License-Identifier: GPL-2.0
#include "control_server.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "command_exec.h"
#include "decision_log.h"
#include "log.h"
#include "pcap_writer.h"
#include "recorder.h"
#include "row_format.h"
#include "strbuf.h"

#define REQUEST_MAX	256

enum client_state {
	CLIENT_FREE,
	CLIENT_READING,		/* until the request line is complete */
	CLIENT_ANSWERING,	/* writing out, closed when done */
	CLIENT_WATCHING,	/* writing out new rows as they come */
};

enum row_format {
	FORMAT_TEXT,
	FORMAT_JSON,
};

struct client {
	int fd;
	enum client_state state;
	enum row_format format;
	char request[REQUEST_MAX];
	size_t request_len;
	struct strbuf out;
	size_t sent;
	uint64_t skipped;	/* watch rows not sent: the client did not keep up */
};

struct wf_control_server {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct wf_exec_ctx *x;
	struct client clients[WF_CONTROL_MAX_CLIENTS];
	uint64_t fed;		/* serial of the last row given to watchers */
	struct strbuf text, json;	/* one row, formatted once for every watcher */
};

const char *wf_control_path(void)
{
	const char *p = getenv("WIREFAULT_SOCKET");

	return p && *p ? p : WF_CONTROL_PATH_DEFAULT;
}

/* Is something at path a socket nobody listens on any more? */
static bool stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	bool stale;
	int fd;

	if (lstat(path, &st) || !S_ISSOCK(st.st_mode))
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	stale = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno == ECONNREFUSED;
	close(fd);
	return stale;
}

int wf_control_remove_stale(const char *path)
{
	if (!path || !*path || !stale_socket(path))
		return 0;
	return unlink(path) ? -errno : 1;
}

struct wf_control_server *wf_control_server_open(const char *path, struct wf_exec_ctx *x)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct wf_control_server *srv;
	mode_t old_mask;
	int err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->x = x;
	for (int i = 0; i < WF_CONTROL_MAX_CLIENTS; i++)
		srv->clients[i].fd = -1;
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	wf_control_remove_stale(path);	/* left by a loader that died */
	srv->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->fd < 0)
		goto fail;
	old_mask = umask(0177);	/* 0600 from the start: no window where others may connect */
	err = bind(srv->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (err || listen(srv->fd, WF_CONTROL_MAX_CLIENTS))
		goto fail;
	srv->fed = wf_recorder_last_serial(x->rec);
	return srv;
fail:
	err = errno;
	if (srv->fd >= 0)
		close(srv->fd);
	free(srv);
	errno = err == EADDRINUSE ? EEXIST : err;
	return NULL;
}

static void drop_client(struct client *c)
{
	bool big = c->out.cap > (1u << 20);

	if (c->fd >= 0)
		close(c->fd);
	strbuf_free(&c->out);
	if (big)
		malloc_trim(0);	/* a dump was megabytes: give them back */
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void wf_control_server_prepare(struct wf_control_server *srv, struct pollfd *pfd)
{
	pfd[0] = (struct pollfd){ .fd = srv->fd, .events = POLLIN };
	for (int i = 0; i < WF_CONTROL_MAX_CLIENTS; i++) {
		const struct client *c = &srv->clients[i];

		pfd[1 + i] = (struct pollfd){ .fd = c->fd };
		if (c->state == CLIENT_READING || c->state == CLIENT_WATCHING)
			pfd[1 + i].events |= POLLIN;	/* a watcher's EOF: it hung up */
		if (c->sent < c->out.len)
			pfd[1 + i].events |= POLLOUT;
	}
}

/* Writes what the socket takes now; false if the client is gone. */
static bool flush_client(struct client *c)
{
	while (c->sent < c->out.len) {
		ssize_t n = send(c->fd, c->out.buf + c->sent, c->out.len - c->sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK;
		}
		c->sent += (size_t)n;
	}
	strbuf_reset(&c->out);
	c->sent = 0;
	return true;
}

static void dump_row(void *ctx, const struct wf_row *r)
{
	struct client *c = ctx;

	if (c->format == FORMAT_JSON) {
		wf_row_format_json(&c->out, r);
	} else if (r->list) {
		wf_row_format_fluent(&c->out, r);
		strbuf_addc(&c->out, '\n');
	}
}

static void add_notes(struct client *c, const char *notes)
{
	const char *n, *nl;

	for (n = notes; n && (nl = strchr(n, '\n')); n = nl + 1) {
		if (c->format == FORMAT_JSON) {
			wf_row_format_note_json(&c->out, n, (size_t)(nl - n));
		} else {
			wf_row_format_note_fluent(&c->out, n, (size_t)(nl - n));
			strbuf_addc(&c->out, '\n');
		}
	}
}

struct pcap_dump {
	struct wf_pcap_writer *w;
	int err;
};

static void pcap_row(void *ctx, const struct wf_row *r)
{
	struct pcap_dump *d = ctx;
	int err = wf_pcap_writer_row(d->w, r);

	if (err && !d->err)
		d->err = err;
}

/* "pcap N\n" + the capture + "notes M\n" + the notes, into c->out. */
static int answer_pcap(struct wf_control_server *srv, struct client *c, const char *notes)
{
	char *pcap_buf = NULL, *notes_buf = NULL;
	size_t pcap_len = 0, notes_len = 0;
	FILE *pf = open_memstream(&pcap_buf, &pcap_len);
	FILE *nf = open_memstream(&notes_buf, &notes_len);
	struct pcap_dump d = { 0 };
	const char *n, *nl;
	int err;

	if (!pf || !nf) {
		if (pf)
			fclose(pf);
		if (nf)
			fclose(nf);
		free(pcap_buf);
		free(notes_buf);
		return -ENOMEM;
	}
	d.w = wf_pcap_writer_new(pf, nf);
	if (!d.w) {
		err = -errno;
		free(pcap_buf);
		free(notes_buf);
		return err;
	}
	for (n = notes; n && (nl = strchr(n, '\n')); n = nl + 1)
		wf_pcap_writer_note(d.w, n, (size_t)(nl - n));
	wf_recorder_for_each_raw(srv->x->rec, 0, pcap_row, &d);
	err = wf_pcap_writer_close(d.w);
	if (!err)
		err = d.err;
	if (!err) {
		strbuf_addf(&c->out, "ok\npcap %zu\n", pcap_len);
		strbuf_add(&c->out, pcap_buf, pcap_len);
		strbuf_addf(&c->out, "notes %zu\n", notes_len);
		strbuf_add(&c->out, notes_buf, notes_len);
	}
	free(pcap_buf);
	free(notes_buf);
	return err;
}

static void answer_error(struct client *c, const char *msg)
{
	strbuf_reset(&c->out);
	strbuf_addf(&c->out, "error: %s\n", msg);
	c->state = CLIENT_ANSWERING;
}

/* The loader's own state for `wirefault status`: key=value lines. */
static void answer_status(struct wf_control_server *srv, struct client *c)
{
	struct wf_decision_log_stats ds = { 0 };
	struct wf_recorder_stats st;
	unsigned int watchers = 0;
	long rss_kb = -1;
	FILE *f;

	wf_exec_catch_up(srv->x);
	wf_recorder_get_stats(srv->x->rec, &st);
	for (int i = 0; i < WF_CONTROL_MAX_CLIENTS; i++)
		watchers += srv->clients[i].state == CLIENT_WATCHING;
	f = fopen("/proc/self/statm", "re");
	if (f) {
		long pages, resident;

		if (fscanf(f, "%ld %ld", &pages, &resident) == 2)
			rss_kb = resident * (sysconf(_SC_PAGESIZE) / 1024);
		fclose(f);
	}
	if (srv->x->decisions)
		wf_decision_log_get_stats(srv->x->decisions, &ds);
	strbuf_adds(&c->out, "ok\n");
	strbuf_addf(&c->out, "seed=%llu\ndecisions=%llu\ndecisions_passed=%llu\n"
		    "decisions_kept=%llu\ndecisions_dropped=%llu\n",
		    (unsigned long long)srv->x->seed, (unsigned long long)ds.total,
		    (unsigned long long)ds.passed, (unsigned long long)ds.kept,
		    (unsigned long long)ds.dropped);
	strbuf_addf(&c->out, "pipeline_gen=%u\npipeline=%s\n", srv->x->pipeline_gen[0],
		    srv->x->pipeline_text[0] ? srv->x->pipeline_text[0] : "");
	for (int s = 1; s < WF_PIPE_SCOPES; s++)
		strbuf_addf(&c->out, "pipeline_gen_%d=%u\npipeline_%d=%s\n", s, srv->x->pipeline_gen[s],
			    s, srv->x->pipeline_text[s] ? srv->x->pipeline_text[s] : "");
	strbuf_addf(&c->out,
		    "rows=%llu\nrow_bytes=%llu\nmax_rows=%llu\nmax_bytes=%llu\n"
		    "rows_dropped=%llu\nchunks=%llu\nlost_pieces=%llu\nlost_bytes=%llu\n"
		    "verdicts=%llu\nverdicts_unmatched=%llu\nconnections=%llu\nbuffered_bytes=%llu\n"
		    "watchers=%u\nrss_kb=%ld\n",
		    (unsigned long long)st.rows, (unsigned long long)st.row_bytes,
		    (unsigned long long)st.max_rows, (unsigned long long)st.max_bytes,
		    (unsigned long long)st.rows_dropped_total, (unsigned long long)st.chunks,
		    (unsigned long long)st.lost_pieces, (unsigned long long)st.lost_bytes,
		    (unsigned long long)st.verdicts, (unsigned long long)st.verdicts_unmatched,
		    (unsigned long long)st.connections, (unsigned long long)st.buffered_bytes,
		    watchers, rss_kb);
	c->state = CLIENT_ANSWERING;
}

static void add_decision(void *ctx, const struct wf_decision_entry *e)
{
	struct client *c = ctx;

	wf_decision_format(&c->out, e, c->format == FORMAT_JSON);
}

/* The decision log (`wirefault decisions`), oldest first, after what the ring holds now. */
static void answer_decisions(struct wf_control_server *srv, struct client *c, bool json)
{
	wf_exec_catch_up(srv->x);
	c->format = json ? FORMAT_JSON : FORMAT_TEXT;
	strbuf_adds(&c->out, "ok\n");
	if (srv->x->decisions)
		wf_decision_log_for_each(srv->x->decisions, add_decision, c);
	c->state = CLIENT_ANSWERING;
	if (strbuf_failed(&c->out))
		answer_error(c, "out of memory");
}

static void run_request(struct wf_control_server *srv, struct client *c)
{
	char verb[16] = "", format[16] = "", extra[16] = "", more[2] = "";
	int n = sscanf(c->request, "%15s %15s %15s %1s", verb, format, extra, more);
	bool keep = n >= 3 && !strcmp(extra, "keep");
	char *notes;
	int err;

	if (n == 1 && !strcmp(verb, "status")) {
		answer_status(srv, c);
		return;
	}
	if (n == 2 && !strcmp(verb, "decisions")) {
		answer_decisions(srv, c, !strcmp(format, "json"));
		return;
	}
	if (n < 2 || n > 3 || (n == 3 && !keep)) {
		answer_error(c, "bad request: expected 'dump text|json|pcap [keep]', 'watch text|json', "
			     "'decisions text|json' or 'status'");
		return;
	}
	if (!strcmp(format, "json"))
		c->format = FORMAT_JSON;
	else if (!strcmp(format, "text") || (!strcmp(verb, "dump") && !strcmp(format, "pcap")))
		c->format = FORMAT_TEXT;
	else {
		answer_error(c, "bad request: unknown format");
		return;
	}
	if (!strcmp(verb, "watch") && n == 2) {
		wf_info("control: a %s watcher connected", format);
		c->state = CLIENT_WATCHING;
		strbuf_adds(&c->out, "ok\n");
		return;
	}
	if (strcmp(verb, "dump")) {
		answer_error(c, "bad request: unknown verb");
		return;
	}
	wf_exec_catch_up(srv->x);
	notes = wf_recorder_notes(srv->x->rec);
	c->state = CLIENT_ANSWERING;
	if (!strcmp(format, "pcap")) {
		err = answer_pcap(srv, c, notes);
		if (err) {
			char msg[96];

			snprintf(msg, sizeof(msg), "cannot write the capture: %s", strerror(-err));
			answer_error(c, msg);
			free(notes);
			return;
		}
	} else {
		strbuf_adds(&c->out, "ok\n");
		add_notes(c, notes);
		wf_recorder_for_each(srv->x->rec, 0, dump_row, c);
	}
	free(notes);
	if (strbuf_failed(&c->out)) {
		answer_error(c, "out of memory");
		return;
	}
	wf_info("control: dump %s%s: %zu bytes", format, keep ? " (kept)" : "", c->out.len);
	if (!keep)
		wf_recorder_forget(srv->x->rec);
}

static void read_request(struct wf_control_server *srv, struct client *c)
{
	ssize_t n = read(c->fd, c->request + c->request_len, sizeof(c->request) - 1 - c->request_len);
	char *nl;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop_client(c);
		return;
	}
	c->request_len += (size_t)n;
	c->request[c->request_len] = '\0';
	nl = strchr(c->request, '\n');
	if (!nl) {
		if (c->request_len == sizeof(c->request) - 1)
			answer_error(c, "bad request: line too long");
		return;
	}
	*nl = '\0';
	run_request(srv, c);
}

static void accept_client(struct wf_control_server *srv)
{
	int fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int i;

	if (fd < 0)
		return;
	for (i = 0; i < WF_CONTROL_MAX_CLIENTS; i++)
		if (srv->clients[i].state == CLIENT_FREE)
			break;
	if (i == WF_CONTROL_MAX_CLIENTS) {
		static const char busy[] = "error: too many clients\n";

		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			wf_debug("control: could not refuse a client: %s", strerror(errno));
		close(fd);
		return;
	}
	srv->clients[i] = (struct client){ .fd = fd, .state = CLIENT_READING };
}

void wf_control_server_service(struct wf_control_server *srv, const struct pollfd *pfd)
{
	if (pfd[0].revents & POLLIN)
		accept_client(srv);
	for (int i = 0; i < WF_CONTROL_MAX_CLIENTS; i++) {
		struct client *c = &srv->clients[i];
		short rev = pfd[1 + i].revents;

		if (c->state == CLIENT_FREE || pfd[1 + i].fd != c->fd || !rev)
			continue;
		if (c->state == CLIENT_READING && (rev & (POLLIN | POLLHUP | POLLERR))) {
			read_request(srv, c);
		} else if (c->state == CLIENT_WATCHING && (rev & (POLLIN | POLLHUP | POLLERR))) {
			char buf[64];

			/* a watcher sends nothing: readable means it hung up */
			if (read(c->fd, buf, sizeof(buf)) <= 0) {
				wf_info("control: a watcher left");
				drop_client(c);
				continue;
			}
		}
		if (c->state == CLIENT_FREE)
			continue;
		if (!flush_client(c) || (c->state == CLIENT_ANSWERING && !c->out.len))
			drop_client(c);
	}
}

struct feed_ctx {
	struct wf_control_server *srv;
	bool want_text, want_json;
};

static void feed_row(void *ctx, const struct wf_row *r)
{
	struct feed_ctx *f = ctx;
	struct wf_control_server *srv = f->srv;

	strbuf_reset(&srv->text);
	strbuf_reset(&srv->json);
	if (f->want_text)
		wf_row_format_watch(&srv->text, r);
	if (f->want_json)
		wf_row_format_json(&srv->json, r);
	for (int i = 0; i < WF_CONTROL_MAX_CLIENTS; i++) {
		struct client *c = &srv->clients[i];
		const struct strbuf *line = c->format == FORMAT_JSON ? &srv->json : &srv->text;

		if (c->state != CLIENT_WATCHING || !line->len)
			continue;
		if (c->out.len - c->sent + line->len > WF_CONTROL_WATCH_BUFFER) {
			c->skipped++;
			continue;
		}
		if (c->skipped) {
			char note[96];
			int n = snprintf(note, sizeof(note),
					 "[watch skipped %llu rows: this client did not keep up]",
					 (unsigned long long)c->skipped);

			if (c->format == FORMAT_JSON)
				wf_row_format_note_json(&c->out, note, (size_t)n);
			else
				strbuf_addf(&c->out, "%s\n", note);
			c->skipped = 0;
		}
		strbuf_add(&c->out, line->buf, line->len);
	}
}

void wf_control_server_feed(struct wf_control_server *srv)
{
	struct feed_ctx f = { .srv = srv };
	uint64_t last = wf_recorder_last_serial(srv->x->rec);

	for (int i = 0; i < WF_CONTROL_MAX_CLIENTS; i++) {
		if (srv->clients[i].state != CLIENT_WATCHING)
			continue;
		if (srv->clients[i].format == FORMAT_JSON)
			f.want_json = true;
		else
			f.want_text = true;
	}
	if ((f.want_text || f.want_json) && last > srv->fed)
		wf_recorder_for_each(srv->x->rec, srv->fed, feed_row, &f);
	srv->fed = last;
	for (int i = 0; i < WF_CONTROL_MAX_CLIENTS; i++) {
		struct client *c = &srv->clients[i];

		if (c->state == CLIENT_WATCHING && c->out.len && !flush_client(c)) {
			wf_info("control: a watcher left");
			drop_client(c);
		}
	}
}

unsigned int wf_control_server_clients(const struct wf_control_server *srv)
{
	unsigned int n = 0;

	for (int i = 0; i < WF_CONTROL_MAX_CLIENTS; i++)
		n += srv->clients[i].state != CLIENT_FREE;
	return n;
}

void wf_control_server_close(struct wf_control_server *srv)
{
	if (!srv)
		return;
	for (int i = 0; i < WF_CONTROL_MAX_CLIENTS; i++) {
		struct client *c = &srv->clients[i];

		if (c->state == CLIENT_ANSWERING) {
			/* a dump already made still goes out, if the client reads it
			 * within a second per write: a stopping loader must not hang */
			struct timeval tv = { .tv_sec = 1 };

			if (!setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) &&
			    !fcntl(c->fd, F_SETFL, 0))
				flush_client(c);
		}
		if (c->state != CLIENT_FREE)
			drop_client(c);
	}
	close(srv->fd);
	unlink(srv->path);
	strbuf_free(&srv->text);
	strbuf_free(&srv->json);
	free(srv);
}
