/* lb-webrtc-ice.c — process-wide settings of the ICE agents inside webrtcbin.
 *
 * libnice turns UPnP IGD on for every agent by default: each WebRTC viewer
 * got a GUPnP thread and context manager, four SSDP sockets and multicast
 * searches on every network interface for a router to open ports on (a
 * server has no use for that, and it is traffic off the host for every
 * join), and a slow gathering and teardown: a WHEP join/leave took ~175 ms
 * with it, ~20 ms without (bench/soak). webrtcbin does not expose its
 * NiceAgent, but "upnp" is a construct property, so with its default turned
 * off every agent starts without it. */
#define G_LOG_DOMAIN "lobbyd-media"
#include "lb-webrtc-ice.h"

#include <dlfcn.h>
#include <gst/gst.h>

static gpointer
disable_upnp (gpointer data)
{
  /* libnice comes with the webrtc plugin; lobbyd does not link it. */
  GstElementFactory *factory = gst_element_factory_find ("webrtcbin");
  if (factory == NULL)
    return NULL;
  GstPluginFeature *loaded = gst_plugin_feature_load (GST_PLUGIN_FEATURE (factory));
  gst_object_unref (factory);
  if (loaded != NULL)
    gst_object_unref (loaded);

  void *nice = dlopen ("libnice.so.10", RTLD_LAZY | RTLD_NOLOAD);
  if (nice == NULL)
    {
      g_debug ("[ICE] libnice is not loaded: UPnP setting left alone");
      return NULL;
    }
  GType (*agent_get_type) (void) = (GType (*) (void))dlsym (nice, "nice_agent_get_type");
  if (agent_get_type != NULL)
    {
      /* Kept referenced: the class, and its property's default, stay. */
      GObjectClass *klass = g_type_class_ref (agent_get_type ());
      GParamSpec *upnp = g_object_class_find_property (klass, "upnp");
      if (upnp != NULL && G_IS_PARAM_SPEC_BOOLEAN (upnp) && (upnp->flags & G_PARAM_CONSTRUCT))
        {
          G_PARAM_SPEC_BOOLEAN (upnp)->default_value = FALSE;
          g_debug ("[ICE] UPnP off for libnice agents");
        }
    }
  dlclose (nice);
  return NULL;
}

void
lb_webrtc_ice_init (void)
{
  static GOnce once = G_ONCE_INIT;
  g_once (&once, disable_upnp, NULL);
}
