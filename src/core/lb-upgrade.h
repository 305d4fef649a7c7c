/* lb-upgrade.h — moving running encodes between pools, their viewers kept
 * (same outputs, SSRC and sequence numbers): fallback encodes back to
 * hardware when a hardware slot frees ("encoder.upgrade"; a pool whose
 * encoder just failed is held off for [encoder] upgrade_holdoff_s), and an
 * encode whose encoder failed mid-stream onto another pool (migration).
 * Main-loop only. */
#pragma once

#include "lb-admission.h"
#include "lb-types.h"

G_BEGIN_DECLS

typedef struct _LbUpgrade LbUpgrade;

/* All borrowed and must outlive it: @encodes is the array of running
 * LbSharedEncode, oldest first; @events may be NULL. Listens to
 * @admission for freed hardware slots (with [encoder] upgrade). */
LbUpgrade *lb_upgrade_new (const LbConfig *config, LbPools *pools, LbAdmission *admission,
                           GPtrArray *encodes, LbEvents *events);
/* No upgrade runs after this, not even a pending one. */
void lb_upgrade_free (LbUpgrade *upgrade);

/* @encode's encoder failed mid-stream with @message: records it on its pool
 * (runtime error, holdoff) and moves the encode to another pool. FALSE
 * (error set) when no pool can take it: its viewers must stop. */
gboolean lb_upgrade_migrate (LbUpgrade *upgrade, LbSharedEncode *encode, const char *message,
                             GError **error);

/* Fallback encodes moved back to hardware. */
guint64 lb_upgrade_get_upgrades (const LbUpgrade *upgrade);
/* Encoders that failed mid-stream. */
guint64 lb_upgrade_get_encode_errors (const LbUpgrade *upgrade);

G_END_DECLS
