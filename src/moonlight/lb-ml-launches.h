/* lb-ml-launches.h — pending and running Moonlight launches, matched to
 * RTSP requests (pure: no sockets, no clock of its own).
 *
 * A launch (HTTPS /launch) is keyed by the client's address and its
 * rikeyid, and gets a session id of its own. RTSP cannot name the launch
 * before the first SETUP: OPTIONS, DESCRIBE and SETUP streamid=audio carry
 * no Session header (moonlight-common-c RtspConnection.c), so those are
 * matched by address among the launches not yet claimed; the first SETUP
 * claims its launch and every later request names it by `Session:`.
 * Several clients launching at once each get their own session; two
 * unclaimed launches from one address (clients behind one NAT) are
 * refused as ambiguous instead of crossing their streams. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _LbMlLaunchTable LbMlLaunchTable;

/* @data_free frees each launch's data (may be NULL). */
LbMlLaunchTable *lb_ml_launch_table_new (GDestroyNotify data_free);
void lb_ml_launch_table_free (LbMlLaunchTable *table);

/* Adds a launch from @address (any text naming the client's IP, e.g.
 * "192.0.2.7" or "::1"; 1–64 bytes) with @rikeyid, owning @data, created
 * at @now_us. A launch with the same address and rikeyid is replaced (the
 * client launched again). Returns the new session id (32 lower-case hex
 * characters, random, owned by the table), or NULL for a bad address. */
const char *lb_ml_launch_table_add (LbMlLaunchTable *table, const char *address, guint32 rikeyid,
                                    gpointer data, gint64 now_us);
/* The data of the launch with @session_id, or NULL. */
gpointer lb_ml_launch_table_lookup (LbMlLaunchTable *table, const char *session_id);
/* The one unclaimed launch from @address: its data, and its session id in
 * @session_id (optional). With @claim it is claimed (no longer matched by
 * address). Fails with LB_ML_RTSP_ERROR_SESSION_MISMATCH when there is
 * none, LB_ML_RTSP_ERROR_AMBIGUOUS_LAUNCH when there are several. */
gpointer lb_ml_launch_table_match_address (LbMlLaunchTable *table, const char *address,
                                           gboolean claim, const char **session_id, GError **error);
/* Removes a launch (its data freed). */
gboolean lb_ml_launch_table_remove (LbMlLaunchTable *table, const char *session_id);
/* Removes unclaimed launches created before @now_us - @max_pending_us (a
 * client that launched and never came). Returns how many. */
guint lb_ml_launch_table_expire (LbMlLaunchTable *table, gint64 now_us, gint64 max_pending_us);
guint lb_ml_launch_table_size (LbMlLaunchTable *table);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbMlLaunchTable, lb_ml_launch_table_free)

G_END_DECLS
