/* lb-pools.h — the encoder pools lobbyd may open encodes on, their limits,
 * and where each limit came from.
 *
 * Each registered LbEncoderBackend adds its own pools (one per device it
 * can use, see src/encoders/); this module never names a backend. A pool
 * the probe found unusable is still listed, with the reason, so gpu-status
 * explains why nothing runs on it. Counting (used, external) is here;
 * decisions are lb-scheduler's. */
#pragma once

#include <json-glib/json-glib.h>
#include "lb-hw.h"
#include "lb-scheduler.h"
#include "lb-types.h"

G_BEGIN_DECLS

typedef enum
{
  LB_LIMIT_CONFIGURED,     /* [encoder] nvenc_session_limit or [testing] */
  LB_LIMIT_DRIVER_DEFAULT, /* the consumer cap of the brand and driver */
  LB_LIMIT_LEARNED,        /* an open failed below the believed limit */
  LB_LIMIT_UNLIMITED,      /* no session cap (pro brands, VA-API) */
  LB_LIMIT_CPU_BUDGET,     /* software: pixel rate budget */
} LbLimitSource;

struct _LbPool
{
  char *name;
  const LbEncoderBackend *backend; /* static: the table entry that made it */
  char *factory;                   /* GStreamer element that opens an encode here */
  int device_index;
  char *learn_key; /* what a learned limit is keyed by (GPU UUID/driver) */
  gboolean usable;
  char *reason; /* why not usable */
  guint limit;  /* hardware slots; 0 = unlimited */
  LbLimitSource limit_source;
  char *limit_note;
  guint used;     /* encodes lobbyd holds here */
  guint external; /* sessions other processes hold on the GPU (NVML) */
  guint group;    /* GeForce per-system cap group; 0 = none */
  guint64 budget; /* software: px/s */
  guint64 budget_used;
  char *last_error;
  guint64 open_failures, runtime_errors;
  gint64 upgrade_holdoff_until; /* monotonic µs: failed mid-stream, keep encodes off it */
};

/* Probes hardware (unless [encoder] hardware=off) and builds the pools.
 * @store keeps learned limits. Both borrowed. */
LbPools *lb_pools_new (const LbConfig *config, LbStore *store);
void lb_pools_free (LbPools *pools);

/* For a backend's discover(): appends a usable pool named @name that opens
 * @factory (device -1, no limit) and returns it, owned by @pools, for the
 * backend to fill in. */
LbPool *lb_pools_add (LbPools *pools, const LbEncoderBackend *backend, const char *name,
                      const char *factory);
/* A cap that several pools share (GeForce: per system, not per card);
 * pools join it by setting their group to @id. */
void lb_pools_add_group (LbPools *pools, guint id, guint limit);
void lb_pool_set_unusable (LbPool *pool, const char *reason);
gboolean lb_pool_is_hardware (const LbPool *pool);
const char *lb_pool_backend_name (const LbPool *pool);

guint lb_pools_get_n (LbPools *pools);
LbPool *lb_pools_get (LbPools *pools, guint index);
const lb_hw_report *lb_pools_get_hardware (LbPools *pools);
gboolean lb_pools_has_nvml (LbPools *pools);

LbDecision lb_pools_decide (LbPools *pools, LbEncoderPreference preference,
                            gboolean require_hardware, guint64 pixel_rate,
                            const gboolean *excluded);
int lb_pools_pick_hardware (LbPools *pools, const gboolean *excluded);
void lb_pools_acquire (LbPools *pools, guint index, guint64 pixel_rate);
void lb_pools_release (LbPools *pools, guint index, guint64 pixel_rate);

/* An open on @index failed with @message: the slots held right now are the
 * real limit. Returns TRUE (and persists it) when that lowered the limit. */
gboolean lb_pools_learn_from_failure (LbPools *pools, guint index, const char *message);
/* Re-reads other processes' encoder sessions from NVML. */
void lb_pools_refresh_external (LbPools *pools);

/* Encoder settings to open an encode on @index. */
LbEncoderSettings lb_pools_settings (LbPools *pools, guint index);

/* @viewers: sessions watching encodes of each pool (nullable). */
JsonNode *lb_pools_to_json (LbPools *pools, const guint *viewers);
JsonNode *lb_pools_gpus_to_json (LbPools *pools);
JsonNode *lb_pools_hardware_to_json (LbPools *pools);
/* Hardware slots in use (lobbyd's + other processes') and their limit
 * (-1 if any usable hardware pool is unlimited), over usable pools. */
void lb_pools_hardware_totals (LbPools *pools, guint *used, int *limit);

/* Why encodes that prefer hardware are (or would be) in software, as a
 * stable code and a sentence for people (caller frees *message):
 * "hardware_disabled", "no_hardware_encoder", "hardware_unavailable" describe
 * the host and are returned whenever no hardware pool is usable;
 * "capacity_exhausted" and "hardware_error" only while @software_mode (some
 * encode fell back). NULL: hardware can take encodes and none fell back. */
const char *lb_pools_software_reason (LbPools *pools, gboolean software_mode, char **message);
/* What the probe saw for "no_hardware_encoder" (NVML, VA-API); NULL otherwise. */
char *lb_pools_software_reason_detail (LbPools *pools);

const char *lb_limit_source_name (LbLimitSource source);

G_END_DECLS
