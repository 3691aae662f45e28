/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Writes recorded rows as a standard pcap file (libpcap's writer, Ethernet
 * link type as on lo) that Wireshark and tshark decode as PostgreSQL
 * (`tshark -r FILE -d tcp.port==PORT,pgsql`): every chunk becomes TCP
 * segments with the connection's real addresses, ports and sequence
 * numbers, at the time it was recorded.
 *
 * A connection recorded from its start gets a SYN before its first chunk
 * (made up: the kernel records payload only), so that readers follow its
 * startup phase.
 *
 * What wirefault did is visible in the capture and explained beside it:
 *  - kill()/killall(): the chunk's segments (which were dropped, not
 *    delivered) are followed by the FINs wirefault sent to both peers;
 *    reset(): by the RSTs;
 *  - cancel()/connect_delay(): the chunk's segments, which were held.
 * The pcap format has no comments (and libpcap writes no pcapng), so the
 * notes go to a companion file of JSON lines, one per annotated frame:
 *   {"frame":12,"time":"...","note":"dropped by wirefault: kill() of pipeline 3"}
 * with frame numbers as Wireshark counts them (from 1).
 */
#ifndef WF_PCAP_WRITER_H
#define WF_PCAP_WRITER_H

#include <stdint.h>
#include <stdio.h>

#include "recorder.h"

struct wf_pcap_writer;

/*
 * Writes the capture to `pcap` and the notes to `notes` (either may be a
 * file or a memory stream; the writer owns and closes both).  NULL with
 * errno set on failure (both streams closed then).
 */
struct wf_pcap_writer *wf_pcap_writer_new(FILE *pcap, FILE *notes);

/* The packets of one row, and their notes.  0 or -errno. */
int wf_pcap_writer_row(struct wf_pcap_writer *w, const struct wf_row *r);

/* A note that is not about a frame (rows lost before the capture, ...). */
void wf_pcap_writer_note(struct wf_pcap_writer *w, const char *note, size_t len);

/* Pushes what was written to the files (a live capture stays readable). */
int wf_pcap_writer_flush(struct wf_pcap_writer *w);

/* Frames written so far. */
uint64_t wf_pcap_writer_frames(const struct wf_pcap_writer *w);

/* Flushes and closes both streams; 0 or -errno of the first failure. */
int wf_pcap_writer_close(struct wf_pcap_writer *w);

/* The companion file's name for a capture path: PATH + ".notes.json". */
#define WF_PCAP_NOTES_SUFFIX ".notes.json"

#endif /* WF_PCAP_WRITER_H */
