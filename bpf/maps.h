/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Maps of the tc program.  Names are the pin names under /sys/fs/bpf/wirefault/
 * (at most 15 characters); every map is BTF-typed so that `bpftool map dump`
 * prints fields, not bytes.  Sizes the loader changes before load are noted.
 */
#ifndef WF_BPF_MAPS_H
#define WF_BPF_MAPS_H

#include "wf_vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "wf_config.h"
#include "wf_counters.h"
#include "wf_event.h"
#include "wf_flow.h"
#include "wf_hold.h"
#include "wf_pipeline.h"
#include "wf_record.h"
#include "wf_vport.h"

/* Run-time configuration, written by the loader; all zero = off. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wf_config);
} config SEC(".maps");

/* One entry per connection to the target port, keyed client -> server. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WF_FLOW_TABLE_SIZE);
	__type(key, struct wf_flow_key);
	__type(value, struct wf_flow);
} flows SEC(".maps");

/*
 * Connections made through the virtual proxy port (include/wf_vport.h),
 * keyed like flows; in proxy mode the tc program follows only these.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WF_VCONN_TABLE_SIZE);
	__type(key, struct wf_flow_key);
	__type(value, struct wf_vconn);
} vconns SEC(".maps");

/* The tag of a client socket that connect()ed to the virtual port. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct wf_vport_tag);
} vport_tags SEC(".maps");

/* Per-filter counts of the current pipeline (include/wf_pipeline.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WF_PIPE_SCOPES);	/* per scope */
	__type(key, __u32);
	__type(value, struct wf_filter_stats);
} filter_stats SEC(".maps");

/* enum wf_counter -> per-CPU count (userspace sums the CPUs). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WF_CNT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/*
 * The compiled pipeline, double-buffered (include/wf_pipeline.h): the slot
 * pipe_current names is the active one; the loader fills the other and
 * switches pipe_current with one 32-bit store through its mmap.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WF_PIPE_SLOTS);
	__type(key, __u32);
	__type(value, struct wf_pipeline);
} pipelines SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WF_PIPE_SLOTS);
	__type(key, __u32);
	__type(value, struct wf_dfa_pool);
} dfa_pool SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct wf_pipe_current);
} pipe_current SEC(".maps");

/*
 * Held chunks (include/wf_hold.h).  Mappable: the loader and the program
 * hand slots to each other with compare-and-swap on their state word.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WF_HOLD_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct wf_hold);
} holds SEC(".maps");

/* The end of each port's cancel() or connect_delay() stall (include/wf_hold.h),
 * indexed like wf_config.ports[].  Mappable: the loader shortens it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WF_PORT_STALLS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct wf_port_stall);
} port_stalls SEC(".maps");

/* What the loader must do (include/wf_event.h); each event wakes it. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, WF_EVENT_RING_SIZE);
} events SEC(".maps");

/* Recorder pieces (struct wf_record + payload).  The loader may resize it
 * before load (a power of two, multiple of the page size). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, WF_REC_RING_DEFAULT);
} records SEC(".maps");

/*
 * Staging area for one recorder piece: bpf_ringbuf_output() copies from
 * memory the program owns, and the payload must first be pulled out of the
 * (possibly non-linear, GSO) skb with bpf_skb_load_bytes().  64 KiB is too
 * big for the stack and for per-CPU values (capped at 32 KiB), so this is a
 * plain array with one slot per CPU, indexed by bpf_get_smp_processor_id().
 * tc programs run with bottom halves disabled and do not migrate, so two runs
 * never share a slot at once.
 * The loader must set max_entries = libbpf_num_possible_cpus() before load;
 * a CPU without a slot loses its pieces (counted, never silent).
 */
struct wf_rec_slot {
	struct wf_record hdr;
	__u8 data[WF_REC_PIECE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wf_rec_slot);
} rec_scratch SEC(".maps");

#endif /* WF_BPF_MAPS_H */
