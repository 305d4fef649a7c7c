/* lb-test-hw-encoder.h — TEST DOUBLE of a hardware H.264 encoder.
 *
 * No machine here has NVENC, so this element stands in for nvh264enc to prove
 * lobbyd's capacity handling end to end: it really encodes (x264 inside, so
 * the stream decodes), and like a GeForce driver it refuses the (N+1)th
 * concurrent session: the state change fails with "Could not initialize
 * supporting library" (GST_LIBRARY_ERROR_INIT), as nvh264enc does past the
 * cap. A fault file, when present, makes running instances fail mid-stream.
 * Registered only when [testing] hw_double=true. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define LB_TEST_HW_ENCODER_FACTORY "lbtesthwenc"

/* @real_limit: concurrent instances allowed; @fault_file: nullable path. */
gboolean lb_test_hw_encoder_register (guint real_limit, const char *fault_file);
guint lb_test_hw_encoder_open_count (void);

G_END_DECLS
