#define G_LOG_DOMAIN "lobbyd-ml-control"
#include "lb-ml-control.h"

#include <gio/gio.h>
#include <string.h>

/* stub: the tests come first */
LbMlControl *
lb_ml_control_new (const char *bind_address, guint16 port, const LbMlControlCallbacks *cb,
                   gpointer user_data, GError **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "not yet");
  return NULL;
}
guint16 lb_ml_control_get_port (LbMlControl *c) { return 0; }
void lb_ml_control_free (LbMlControl *c) {}
void lb_ml_control_terminate (LbMlControl *c, const char *ml_id, guint32 reason) {}
void lb_ml_control_get_stats (LbMlControl *c, LbMlControlStats *out) { memset (out, 0, sizeof *out); }
gboolean
lb_ml_input_decode (const guint8 *data, gsize len, guint screen_w, guint screen_h,
                    GArray *events_out, GError **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not yet");
  return FALSE;
}
