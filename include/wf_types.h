/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixed-width types for headers shared by the BPF programs and the loader.
 *
 * BPF code includes vmlinux.h (which defines __u8..__u64 itself); userspace
 * gets the same names from <linux/types.h>.  Every shared header includes this
 * file first so that it compiles unchanged on both sides.
 */
#ifndef WF_TYPES_H
#define WF_TYPES_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#endif /* WF_TYPES_H */
