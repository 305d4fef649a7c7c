#define G_LOG_DOMAIN "lobbyd-moonlight"
#include "lb-ml-rtsp-server.h"
#include <gio/gio.h>
LbMlRtspServer *lb_ml_rtsp_server_new (const char *bind_address, guint16 port, LbMlLaunchTable *launches, guint32 encryption_supported, guint32 encryption_requested, const LbMlRtspCallbacks *cb, gpointer user_data, GError **error) { g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "not yet"); return NULL; }
guint16 lb_ml_rtsp_server_get_port (LbMlRtspServer *s) { return 0; }
void lb_ml_rtsp_server_set_read_timeout (LbMlRtspServer *s, guint timeout_ms) {}
void lb_ml_rtsp_server_free (LbMlRtspServer *s) {}
