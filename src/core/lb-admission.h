/* lb-admission.h — which encoder pool an encode runs on, and the slots it
 * holds there (DESIGN.md). The scheduler (lb_pools_decide) picks a pool and
 * the encoder opens there; a hardware pool whose driver refuses teaches its
 * real limit and is excluded, and the scheduler is asked again within the
 * same call. Each running encode holds one slot of its pool. Main-loop only. */
#pragma once

#include "lb-types.h"

G_BEGIN_DECLS

typedef struct _LbAdmission LbAdmission;

/* A hardware slot was given back (an upgrade may now fit). */
typedef void (*LbSlotFreedFunc) (gpointer user_data);

/* All borrowed and must outlive the admission: @encodes is the array of
 * running LbSharedEncode (for the viewer counts of refusal events); @events
 * may be NULL. */
LbAdmission *lb_admission_new (LbPools *pools, GPtrArray *encodes, LbEvents *events);
void lb_admission_free (LbAdmission *admission);
/* One listener; @func NULL removes it. */
void lb_admission_set_slot_freed_func (LbAdmission *admission, LbSlotFreedFunc func,
                                       gpointer user_data);

/* Opens @encode's encoder on a pool the scheduler picks, never @exclude_pool
 * (-1: any), and moves its slot there. For an encode that already runs this
 * is a switch: its viewers move along. LB_ERROR_CAPACITY (and an
 * "admission.refused" event) when no pool can take it. */
gboolean lb_admission_admit (LbAdmission *admission, LbSharedEncode *encode, int exclude_pool,
                             GError **error);
/* Whether a new encode of @pixel_rate would be admitted now, without
 * opening anything, taking a slot or emitting an event: a client told "no"
 * before it sets anything up. LB_ERROR_CAPACITY as lb_admission_admit's. */
gboolean lb_admission_check (LbAdmission *admission, guint64 pixel_rate,
                             LbEncoderPreference preference, gboolean require_hardware,
                             GError **error);
/* Moves @encode's slot to @pool (giving back the one it held, if any). */
void lb_admission_take_slot (LbAdmission *admission, LbSharedEncode *encode, guint pool,
                             gboolean fallback);
/* Gives @encode's slot back to its pool (if it holds one). */
void lb_admission_release_slot (LbAdmission *admission, LbSharedEncode *encode);
/* Closes @encode (no longer running, its viewers gone) without waiting on
 * the main loop. A software budget comes back at once (only lobbyd counts
 * it); a hardware slot once the encoder has really stopped: until then the
 * driver still counts the session, and an open there could be refused and
 * teach a wrong limit. */
void lb_admission_close_encode (LbAdmission *admission, LbSharedEncode *encode);
/* A hardware encoder of @pool refused to open with @message: learns its
 * real limit when the message says so. */
void lb_admission_learn_limit (LbAdmission *admission, guint pool, const char *message);

/* Viewers per pool (index as in LbPools), newly allocated. */
guint *lb_admission_count_pool_viewers (LbAdmission *admission);
/* Encodes opened in software because hardware was unavailable. */
guint64 lb_admission_get_fallbacks (const LbAdmission *admission);
/* Encodes refused for lack of encoder capacity. */
guint64 lb_admission_get_refusals (const LbAdmission *admission);

G_END_DECLS
