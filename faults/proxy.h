/* proxy.h -- what the proxy target exposes beyond fault.h: its engine handle, for tests
 * that need to reach the proxy of an open target (e.g. to stall its engine). */
#ifndef FL_PROXY_H
#define FL_PROXY_H

#include "fault.h"
#include "proxy_engine.h"

/* the proxy of an open `proxy` target, or NULL when it is not open */
struct px *proxy_target_px(const struct target *t);

/* the fault kind `proxy.<name>` of row i of px_toxics[] (proxy_toxics.h), built from the
 * row once; NULL past the last row. faults/registry.c lists them in fault_kinds. */
const struct fault_ops *proxy_toxic_ops(size_t i);

#endif
