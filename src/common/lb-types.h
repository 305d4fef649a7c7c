/* lb-types.h — forward declarations of every type that crosses a module
 * boundary, so headers include only this. Types private to one module (a
 * connection of lb-http-server, the WebRTC output's own struct) stay there. */
#pragma once

#include <glib.h>

typedef struct _LbConfig LbConfig;
typedef struct _LbStore LbStore;
typedef struct _LbRegistry LbRegistry;
typedef struct _LbLobby LbLobby;
typedef struct _LbSession LbSession;
typedef struct _LbLobbySpec LbLobbySpec;
typedef struct _LbSessionSpec LbSessionSpec;
typedef struct _LbProfile LbProfile;
typedef struct _LbAllowList LbAllowList;
typedef struct _LbProducer LbProducer;
typedef struct _LbEncode LbEncode;
typedef struct _LbEncoderBackend LbEncoderBackend;
typedef struct _LbPools LbPools;
typedef struct _LbPool LbPool;
typedef struct _LbOutput LbOutput;
typedef struct _LbOutputClass LbOutputClass;
typedef struct _LbHttpServer LbHttpServer;
typedef struct _LbApi LbApi;
typedef struct _LbEvents LbEvents;
typedef struct _LbBranch LbBranch;
typedef struct _LbDesktop LbDesktop;
typedef struct _LbSharedEncode LbSharedEncode;
typedef struct _LbAdmission LbAdmission;
typedef struct _LbUpgrade LbUpgrade;
typedef struct _LbSse LbSse;
typedef struct _LbTrack LbTrack;
typedef struct _LbInputEvent LbInputEvent;

/* What a track carries (media/lb-track.h). Part of a profile, so of the share key. */
typedef enum
{
  LB_MEDIA_VIDEO,
  LB_MEDIA_AUDIO,
} LbMediaKind;

/* Which kind of encoder pool a lobby or session asks for. */
typedef enum
{
  LB_ENCODER_AUTO,
  LB_ENCODER_HARDWARE,
  LB_ENCODER_SOFTWARE,
} LbEncoderPreference;

/* Called on the main loop for a pipeline error. @branch is the name of the
 * encode or output bin the error came from, or NULL when the producer failed. */
typedef void (*LbMediaErrorFunc) (const char *branch, const GError *error, gpointer user_data);

/* How an encode is opened: which element, on which device, and the backend
 * that knows that element's properties. All borrowed from the pool/config. */
typedef struct
{
  const LbEncoderBackend *backend;
  const char *factory; /* the GStreamer element factory the pool opens */
  int device_index;    /* the backend's device number; -1 = default */
  guint keyframe_interval_ms;
  const LbConfig *config; /* backend-specific keys ([encoder] x264_speed_preset) */
} LbEncoderSettings;
