/* lb-output-rtp.h — the "rtp" transport: one viewer's RTP/UDP output
 * (RFC 6184 H.264 payload) on an encode's track, with its own payloader state
 * (SSRC, sequence numbers), destination and counters. Opened through
 * lb_output_class_lookup ("rtp"); stats add bytes_sent and ssrc; it
 * describes itself with an SDP (RFC 4566) from the payloader's negotiated
 * caps (sprop-parameter-sets, profile-level-id). */
#pragma once

#include "lb-output.h"
