/* lb-scheduler.h — admission: which encoder pool a new encode opens on, or
 * why it is refused. Pure: no GStreamer, no I/O, no clock; the registry
 * describes the pools and the request, the scheduler decides.
 *
 * Order (DESIGN.md "Admission"): a hardware pool with a free slot (counting
 * other processes' sessions) → software within its CPU budget → refuse.
 * Pools tried and failed within the same request are excluded, which is how a
 * failed hardware open falls back inside one request. */
#pragma once

#include "lb-types.h"

G_BEGIN_DECLS

typedef enum
{
  LB_POOL_HARDWARE,
  LB_POOL_SOFTWARE,
} LbPoolKind;

typedef struct
{
  LbPoolKind kind;
  gboolean usable;     /* FALSE: probed unavailable (a reason is kept by the caller) */
  guint limit;         /* hardware slots; 0 = unlimited */
  guint used;          /* slots held by lobbyd */
  guint external;      /* slots held by other processes (NVML) */
  guint group;         /* 0 = none; pools of one group also share its limit */
  guint64 budget;      /* software: pixel rate (px/s) it may encode; 0 = none */
  guint64 budget_used; /* software: pixel rate of its running encodes */
} LbPoolState;

typedef struct
{
  guint id;    /* > 0 */
  guint limit; /* e.g. the GeForce per-system cap */
} LbPoolGroup;

typedef struct
{
  LbEncoderPreference preference;
  gboolean require_hardware;
  guint64 pixel_rate;       /* width * height * fps of the encode */
  const gboolean *excluded; /* per pool, nullable: failed earlier in this request */
} LbAdmissionRequest;

typedef enum
{
  LB_REFUSE_NONE,
  LB_REFUSE_HARDWARE_UNAVAILABLE, /* hardware required, no usable hardware pool */
  LB_REFUSE_HARDWARE_FULL,        /* hardware required, every hardware pool is full */
  LB_REFUSE_SOFTWARE_BUDGET,      /* software would exceed the CPU budget */
} LbRefusal;

typedef struct
{
  int pool;          /* index into the pools, or -1 when refused */
  gboolean fallback; /* software although the caller allowed hardware */
  LbRefusal refusal; /* when pool == -1 */
} LbDecision;

LbDecision lb_scheduler_decide (const LbPoolState *pools, guint n_pools, const LbPoolGroup *groups,
                                guint n_groups, const LbAdmissionRequest *request);

/* The hardware pool a new encode would open on, or -1: the least loaded pool
 * with a free slot in itself and in its group. */
int lb_scheduler_pick_hardware (const LbPoolState *pools, guint n_pools, const LbPoolGroup *groups,
                                guint n_groups, const gboolean *excluded);

/* Free slots of a hardware pool (G_MAXUINT when unlimited), group cap included. */
guint lb_scheduler_free_slots (const LbPoolState *pools, guint n_pools, const LbPoolGroup *groups,
                               guint n_groups, guint pool);

const char *lb_refusal_name (LbRefusal refusal);

G_END_DECLS
