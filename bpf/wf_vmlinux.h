/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmlinux.h for wirefault's BPF code.  Every BPF file includes this instead
 * of vmlinux.h directly: vmlinux.h declares `typedef struct config_s config;`
 * (zstd), which would clash with the map named `config` (its pin name, the
 * name the loader and bpftool users see).
 */
#ifndef WF_VMLINUX_H
#define WF_VMLINUX_H

#define config wf_vmlinux_config
#include "vmlinux.h"
#undef config

#endif /* WF_VMLINUX_H */
