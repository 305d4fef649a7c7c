/* lb-webrtc-ice.h — process-wide settings of the ICE agents inside webrtcbin. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Call once after gst_init(), before the first WebRTC session. */
void lb_webrtc_ice_init (void);

G_END_DECLS
