// SPDX-License-Identifier: GPL-2.0
#include "pcap_writer.h"

#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "pg_json.h"
#include "pipeline_compile.h"
#include "strbuf.h"
#include "tcp_frame.h"
#include "wf_pipeline.h"

#define SNAPLEN		262144
#define WINDOW		65535

/* What the capture has said so far about one connection's two directions. */
struct conn_seq {
	struct hmap_node node;
	uint64_t conn_id;
	uint32_t next[WF_DIR__COUNT];	/* seq after the last byte written */
	bool known[WF_DIR__COUNT];
	bool started;		/* something of it was written */
};

struct wf_pcap_writer {
	pcap_t *dead;
	pcap_dumper_t *dumper;
	FILE *notes;
	struct hmap conns;
	uint64_t frames;
	int err;		/* first write error */
	uint8_t *frame;		/* WF_TCP_SEGMENT_FRAME_MAX bytes */
	struct strbuf line;
};

struct wf_pcap_writer *wf_pcap_writer_new(FILE *pcap, FILE *notes)
{
	struct wf_pcap_writer *w = calloc(1, sizeof(*w));

	if (!w)
		goto fail;
	w->frame = malloc(WF_TCP_SEGMENT_FRAME_MAX);
	w->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, SNAPLEN, PCAP_TSTAMP_PRECISION_MICRO);
	if (!w->frame || !w->dead)
		goto fail;
	w->dumper = pcap_dump_fopen(w->dead, pcap);
	if (!w->dumper) {
		errno = EIO;
		goto fail;
	}
	w->notes = notes;
	return w;
fail:
	if (!w || !w->dumper)
		fclose(pcap);
	fclose(notes);
	if (w) {
		if (w->dead)
			pcap_close(w->dead);
		free(w->frame);
		free(w);
	}
	if (!errno)
		errno = ENOMEM;
	return NULL;
}

static struct conn_seq *conn_seq(struct wf_pcap_writer *w, uint64_t conn_id)
{
	struct hmap_node *n;
	struct conn_seq *c;

	for (n = hmap_first(&w->conns, hmap_hash_u64(conn_id)); n; n = hmap_next(n)) {
		c = hmap_entry(n, struct conn_seq, node);
		if (c->conn_id == conn_id)
			return c;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->conn_id = conn_id;
	if (hmap_insert(&w->conns, &c->node, hmap_hash_u64(conn_id))) {
		free(c);
		return NULL;
	}
	return c;
}

static int write_segment(struct wf_pcap_writer *w, const struct wf_row *r,
			 const struct wf_tcp_segment *seg)
{
	struct pcap_pkthdr h = { 0 };
	int len = wf_tcp_frame_build(w->frame, WF_TCP_SEGMENT_FRAME_MAX, seg);

	if (len < 0)
		return len;
	h.ts.tv_sec = (time_t)(r->ts_ns / 1000000000u);
	h.ts.tv_usec = (suseconds_t)(r->ts_ns % 1000000000u / 1000u);
	h.caplen = h.len = (bpf_u_int32)len;
	pcap_dump((u_char *)w->dumper, &h, w->frame);
	w->frames++;
	return 0;
}

static void note(struct wf_pcap_writer *w, uint64_t frame, const struct wf_row *r, const char *text)
{
	strbuf_reset(&w->line);
	strbuf_adds(&w->line, "{");
	if (frame)
		strbuf_addf(&w->line, "\"frame\":%" PRIu64 ",", frame);
	if (r)
		strbuf_addf(&w->line, "\"conn\":%" PRIu64 ",\"ts_ns\":%" PRIu64 ",", r->number, r->ts_ns);
	strbuf_adds(&w->line, "\"note\":");
	pg_json_string(&w->line, (const uint8_t *)text, strlen(text));
	strbuf_adds(&w->line, "}\n");
	if (!strbuf_failed(&w->line) && fwrite(w->line.buf, 1, w->line.len, w->notes) != w->line.len &&
	    !w->err)
		w->err = -EIO;
}

void wf_pcap_writer_note(struct wf_pcap_writer *w, const char *text, size_t len)
{
	char *s = strndup(text, len);

	if (s)
		note(w, 0, NULL, s);
	free(s);
}

/*
 * The FINs or RSTs wirefault sent to both peers instead of the chunk's bytes
 * from `cut` on (0 for kill() and reset(): the whole chunk).
 */
static int write_close_pair(struct wf_pcap_writer *w, const struct wf_row *r, struct conn_seq *c,
			    uint8_t flag, const char *action, uint32_t cut)
{
	enum wf_dir other = r->dir == WF_DIR_FRONTEND ? WF_DIR_BACKEND : WF_DIR_FRONTEND;
	struct wf_tcp_segment to_receiver = {
		.key = &r->flow,
		.to_server = r->dir == WF_DIR_FRONTEND,
		.seq = r->seq + cut,		/* where the dropped bytes began */
		.ack = c->next[other],
		.flags = (uint8_t)(flag | WF_TCP_ACK),
		.window = WINDOW,
	};
	struct wf_tcp_segment to_sender = {
		.key = &r->flow,
		.to_server = r->dir != WF_DIR_FRONTEND,
		.seq = c->next[other],
		.ack = r->seq + cut,		/* the dropped bytes were not acknowledged */
		.flags = (uint8_t)(flag | WF_TCP_ACK),
		.window = WINDOW,
	};
	const char *what = flag == WF_TCP_RST ? "RST" : "FIN";
	char text[160];
	int err;

	if ((err = write_segment(w, r, &to_receiver)))
		return err;
	snprintf(text, sizeof(text), "sent by wirefault: %s to the %s (%s)", what,
		 r->dir == WF_DIR_FRONTEND ? "server" : "client", action);
	note(w, w->frames, r, text);
	if ((err = write_segment(w, r, &to_sender)))
		return err;
	snprintf(text, sizeof(text), "sent by wirefault: %s to the %s (%s)", what,
		 r->dir == WF_DIR_FRONTEND ? "client" : "server", action);
	note(w, w->frames, r, text);
	return 0;
}

int wf_pcap_writer_row(struct wf_pcap_writer *w, const struct wf_row *r)
{
	enum wf_dir other = r->dir == WF_DIR_FRONTEND ? WF_DIR_BACKEND : WF_DIR_FRONTEND;
	const char *action = wf_pipe_action_name(r->action);
	uint64_t first_frame = w->frames + 1, cut_frame = 0;
	struct conn_seq *c;
	size_t off = 0, cut = r->raw_len;
	char text[200];
	int err;

	if (!r->has_flow || !r->raw_len)
		return 0;	/* nothing to say where it went */
	c = conn_seq(w, r->conn_id);
	if (!c)
		return -ENOMEM;
	if (!c->started && r->initial && r->dir == WF_DIR_FRONTEND) {
		/* The kernel records payload only.  A SYN where the
		 * connection began tells readers (Wireshark, decode) that they
		 * see it from its start, so they follow the startup phase. */
		struct wf_tcp_segment syn = {
			.key = &r->flow,
			.to_server = true,
			.seq = r->seq - 1,
			.flags = WF_TCP_SYN,
			.window = WINDOW,
		};

		if ((err = write_segment(w, r, &syn)))
			return err;
		note(w, w->frames, r, "made up by wirefault: the connection's SYN (payload only is "
		     "recorded; this marks where the connection began)");
		first_frame = w->frames + 1;
	}
	c->started = true;
	/* truncate(): the bytes delivered and those dropped go in separate frames */
	if (r->action == WF_PIPE_A_TRUNCATE && r->delivered < r->raw_len)
		cut = r->delivered;
	while (off < r->raw_len) {
		size_t n = r->raw_len - off;
		struct wf_tcp_segment seg = {
			.key = &r->flow,
			.to_server = r->dir == WF_DIR_FRONTEND,
			.seq = r->seq + (uint32_t)off,
			.ack = c->next[other],
			.flags = (uint8_t)(WF_TCP_ACK | WF_TCP_PSH),
			.window = WINDOW,
			.payload = r->raw + off,
		};

		if (n > WF_TCP_SEGMENT_PAYLOAD_MAX)
			n = WF_TCP_SEGMENT_PAYLOAD_MAX;
		if (off < cut && n > cut - off)
			n = cut - off;
		if (off == cut && !cut_frame)
			cut_frame = w->frames + 1;
		seg.len = n;
		if ((err = write_segment(w, r, &seg)))
			return err;
		off += n;
	}
	c->next[r->dir] = r->seq + (uint32_t)r->raw_len;
	c->known[r->dir] = true;
	c->started = true;

	switch (r->action) {
	case WF_PIPE_A_ALLOW:
		break;
	case WF_PIPE_A_KILL:
	case WF_PIPE_A_RESET:
	case WF_PIPE_A_KILLALL:
		snprintf(text, sizeof(text), "dropped by wirefault: %s() of pipeline %" PRIu32
			 " (not delivered to the %s)", action, r->pipe_gen,
			 r->dir == WF_DIR_FRONTEND ? "server" : "client");
		for (uint64_t f = first_frame; f < w->frames + 1; f++)
			note(w, f, r, text);
		err = write_close_pair(w, r, c, r->action == WF_PIPE_A_RESET ? WF_TCP_RST : WF_TCP_FIN,
				       action, 0);
		if (err)
			return err;
		break;
	case WF_PIPE_A_TRUNCATE:
		if (!cut_frame) {
			snprintf(text, sizeof(text), "delivered: truncate() of pipeline %" PRIu32
				 " counts the bytes of this direction up to its cut", r->pipe_gen);
			for (uint64_t f = first_frame; f < w->frames + 1; f++)
				note(w, f, r, text);
			break;
		}
		snprintf(text, sizeof(text), "dropped by wirefault: truncate() of pipeline %" PRIu32
			 " (the %s got the chunk's first %" PRIu32 " of %zu bytes)", r->pipe_gen,
			 r->dir == WF_DIR_FRONTEND ? "server" : "client", r->delivered, r->raw_len);
		for (uint64_t f = cut_frame; f < w->frames + 1; f++)
			note(w, f, r, text);
		err = write_close_pair(w, r, c, WF_TCP_FIN, action, r->delivered);
		if (err)
			return err;
		break;
	case WF_PIPE_A_BLACKHOLE:
	case WF_PIPE_A_UNREACHABLE:
		snprintf(text, sizeof(text), "dropped by wirefault: %s() of pipeline %" PRIu32
			 " (this and every later packet of the connection, both ways, %s)",
			 action, r->pipe_gen, r->action == WF_PIPE_A_BLACKHOLE ? "silently" :
			 "each data segment answered with an ICMP host unreachable");
		for (uint64_t f = first_frame; f < w->frames + 1; f++)
			note(w, f, r, text);
		break;
	default:
		snprintf(text, sizeof(text), "held by wirefault: %s() of pipeline %" PRIu32
			 " (delivered when the hold ended)", action, r->pipe_gen);
		for (uint64_t f = first_frame; f < w->frames + 1; f++)
			note(w, f, r, text);
		break;
	}
	return w->err;
}

int wf_pcap_writer_flush(struct wf_pcap_writer *w)
{
	if (pcap_dump_flush(w->dumper) || fflush(w->notes))
		return w->err ? w->err : -EIO;
	return w->err;
}

uint64_t wf_pcap_writer_frames(const struct wf_pcap_writer *w)
{
	return w->frames;
}

int wf_pcap_writer_close(struct wf_pcap_writer *w)
{
	struct hmap_node *n;
	int err;

	if (!w)
		return 0;
	err = wf_pcap_writer_flush(w);
	pcap_dump_close(w->dumper);
	pcap_close(w->dead);
	if (fclose(w->notes) && !err)
		err = -EIO;
	for (size_t b = 0; w->conns.buckets && b <= w->conns.mask; b++)
		while ((n = w->conns.buckets[b])) {
			hmap_remove(&w->conns, n);
			free(hmap_entry(n, struct conn_seq, node));
		}
	hmap_free(&w->conns);
	strbuf_free(&w->line);
	free(w->frame);
	free(w);
	return err;
}
