/* lb-config.h — daemon configuration (GKeyFile).
 *
 * Defaults come from an embedded key file (lb_config_default_text()), so the
 * defaults and docs/configuration.md describe one file format; a --config file
 * overrides only the keys it names. Unknown groups or keys are errors: a typo
 * must not silently keep a default. */
#pragma once

#include "lb-types.h"

G_BEGIN_DECLS

typedef enum
{
  LB_CONFIG_SOURCE_DEFAULT,
  LB_CONFIG_SOURCE_FILE,
} LbConfigSource;

struct _LbConfig
{
  /* [daemon] */
  char *state_dir;
  char *socket_path; /* "" = <state_dir>/lobbyd.sock */
  char *listen;      /* "" = no TCP listener; "host:port" */
  char *token;       /* "" = generated once into <state_dir>/token */
  char *web_dir;     /* "" = the web/ folder of the source tree this was built from */
  guint max_body_bytes;
  guint max_lobbies;
  guint max_sessions;
  guint max_connections_unix;
  guint max_connections_tcp;
  guint request_timeout_s;
  guint sse_max_queued_bytes;
  /* [rtp] */
  char **allowed_destinations;
  /* [webrtc] */
  char *stun_server; /* "stun://host:port" for viewers behind NAT; "" = host candidates only */
  char **allowed_candidates; /* CIDRs remote ICE candidates may name (STUN checks go there) */
  char **ice_addresses;      /* local IPs to gather host candidates on; empty = all but loopback */
  guint peer_timeout_s;      /* a connected viewer silent this long is gone */
  char *webrtc_stack; /* "auto", "webrtcbin" or "lite": watch-only viewers (lb-output-webrtc-lite.h)
                       */
  /* [encoder] */
  char *x264_speed_preset;
  guint keyframe_interval_ms;
  char *hardware;             /* "auto": probe GPUs and VA-API; "off": software only */
  guint nvenc_session_limit;  /* 0 = per brand/driver default; N = configured */
  guint software_budget_mpps; /* 0 = auto: 40 Mpx/s per CPU core */
  gboolean upgrade;           /* move fallback encodes back to hardware when a slot frees */
  guint nvml_poll_ms;
  guint upgrade_holdoff_s; /* no upgrades onto a pool this long after it failed mid-stream */
  guint join_keyframe_min_interval_ms; /* joins closer than this share one forced IDR */
  /* [demo] */
  gboolean demo_enabled;
  char *demo_name;
  char *demo_session_key;
  char *demo_pattern;
  guint demo_width, demo_height, demo_fps;
  guint demo_rtp_port; /* 0 = no demo RTP session */
  /* [apps]: x11-app catalogue, name → argv (GStrv). Requests name an app,
   * never a command line. */
  GHashTable *apps;
  /* [apps] user: who apps and their X servers run as when lobbyd is root
   * (otherwise lobbyd's own user); uid 0 only with [apps] allow_root. */
  char *apps_user;
  gboolean apps_allow_root;
  /* [audio] (issue 12): one Opus encode per lobby at this rate; x11-app
   * lobbies get their own sound server, this binary (a PulseAudio), given
   * this long to open its socket before the lobby runs without sound. */
  guint audio_bitrate_kbps;
  char *audio_server_binary;
  guint audio_start_timeout_ms;
  /* [moonlight] (issue 13): the GameStream host (docs/moonlight.md). Ports
   * 0 = ephemeral; a busy port leaves lobbyd running without the host. */
  gboolean ml_enabled;
  char *ml_address; /* bind address of every Moonlight socket */
  guint ml_http_port, ml_https_port, ml_rtsp_port, ml_video_port, ml_control_port, ml_audio_port;
  char *ml_hostname; /* "" = g_get_host_name () */
  guint ml_ping_timeout_s;
  gboolean ml_default_control; /* paired clients may send input */
  guint ml_pair_timeout_s;     /* how long getservercert waits for the operator's PIN */
  guint ml_fec_percentage;     /* video FEC parity when the client names none */
  /* [testing]: the test-double hardware encoder pool (never for production). */
  gboolean hw_double;
  guint hw_double_believed_limit;
  guint hw_double_real_limit;
  char *hw_double_fault_file;
  char *hw_double_stall_file;
};

const char *lb_config_default_text (void);
/* Every key of the table as "group/key" (for tests of shipped config files). */
char **lb_config_list_keys (void);

LbConfig *lb_config_new_default (void);
/* Overrides the keys present in @path. */
gboolean lb_config_load_file (LbConfig *config, const char *path, GError **error);
gboolean lb_config_load_data (LbConfig *config, const char *data, GError **error);
/* Splits "host:port" or "[v6]:port"; host must be an IP literal. */
gboolean lb_config_parse_listen (const char *listen, char **host, guint16 *port, GError **error);
/* Effective unix socket path (resolves the "" default). */
char *lb_config_socket_path (const LbConfig *config);
void lb_config_free (LbConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbConfig, lb_config_free)

G_END_DECLS
