/* Unit tests for src/hw on a machine without the vendor libraries: absence is
 * reported precisely, and the pure helpers (limits, bus ids) hold. */
#include "lb-hw.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

static void
test_absent_libraries_are_reported (void)
{
  static lb_hw_report report;
  lb_hw_probe_options options = { .dri_dir = "/nonexistent-dri" };

  g_setenv ("LOBBYD_NVML_LIBRARY", "libnvidia-ml-test-double-absent.so", TRUE);
  g_setenv ("LOBBYD_CUDA_LIBRARY", "libcuda-test-double-absent.so", TRUE);
  lb_hw_probe (&report, &options);
  g_assert_false (report.nvml_loaded);
  g_assert_nonnull (strstr (report.nvml_error, "libnvidia-ml-test-double-absent.so"));
  g_assert_false (report.cuda_loaded);
  g_assert_nonnull (strstr (report.cuda_error, "libcuda-test-double-absent.so"));
  g_assert_cmpint (report.gpu_count, ==, 0);
  g_assert_cmpint (report.node_count, ==, 0);

  /* The JSON is valid and says the same. */
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream (&text, &len);
  lb_hw_report_write_json (&report, mem);
  fclose (mem);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = json_from_string (text, &error);
  g_assert_no_error (error);
  JsonObject *nvml = json_object_get_object_member (json_node_get_object (node), "nvml");
  g_assert_false (json_object_get_boolean_member (nvml, "loaded"));
  g_assert_cmpuint (
      json_array_get_length (json_object_get_array_member (json_node_get_object (node), "gpus")),
      ==, 0);
  free (text);
  g_assert_cmpint (lb_hw_nvml_encoder_sessions (0, &(unsigned){ 0 }, NULL, 0, NULL), !=, 0);
  g_unsetenv ("LOBBYD_NVML_LIBRARY");
  g_unsetenv ("LOBBYD_CUDA_LIBRARY");
}

static void
test_render_nodes_that_fail_are_listed (void)
{
  /* A directory with a render-node name that is not a device: the probe must
   * list it with an error rather than skip it or crash. */
  g_autofree char *dir = g_dir_make_tmp ("lbdri-XXXXXX", NULL);
  g_autofree char *node = g_build_filename (dir, "renderD128", NULL);
  g_assert_true (g_file_set_contents (node, "", 0, NULL));
  static lb_hw_report report;
  lb_hw_probe_options options = { .dri_dir = dir, .skip_nvenc = 1 };
  g_setenv ("LOBBYD_VA_LIBRARY", "libva-test-double-absent.so", TRUE);
  lb_hw_probe (&report, &options);
  g_assert_cmpint (report.node_count, ==, 1);
  g_assert_false (report.nodes[0].va_ok);
  g_assert_nonnull (strstr (report.nodes[0].va_error, "libva-test-double-absent.so"));
  g_unsetenv ("LOBBYD_VA_LIBRARY");
  g_remove (node);
  g_rmdir (dir);
}

static void
test_driver_default_limits (void)
{
  const char *note = NULL;
  g_assert_cmpuint (lb_hw_nvenc_driver_default_limit (5, "525.60.11", &note), ==, 3);
  g_assert_cmpuint (lb_hw_nvenc_driver_default_limit (5, "530.41.03", &note), ==, 5);
  g_assert_cmpuint (lb_hw_nvenc_driver_default_limit (15, "550.54.14", &note), ==, 5);
  g_assert_cmpuint (lb_hw_nvenc_driver_default_limit (15, "551.23", &note), ==, 8);
  g_assert_cmpuint (lb_hw_nvenc_driver_default_limit (6, "580.159.04", &note), ==, 8);
  g_assert_nonnull (strstr (note, "8"));
  /* Data-centre (H100 reports brand NVIDIA = 14), Quadro, Tesla: no cap. */
  g_assert_cmpuint (lb_hw_nvenc_driver_default_limit (14, "580.159.04", &note), ==, 0);
  g_assert_cmpuint (lb_hw_nvenc_driver_default_limit (1, "580.159.04", &note), ==, 0);
  g_assert_cmpuint (lb_hw_nvenc_driver_default_limit (2, NULL, &note), ==, 0);
  g_assert_cmpstr (lb_hw_brand_name (5), ==, "GeForce");
  g_assert_cmpstr (lb_hw_brand_name (99), ==, "Unknown");
}

static void
test_usable_reason (void)
{
  lb_hw_gpu gpu = { 0 };
  const char *reason = NULL;
  g_assert_false (lb_hw_nvenc_usable (&gpu, &reason));
  g_assert_cmpstr (reason, ==, "NVENC not probed");
  gpu.nvenc_probed = 1;
  g_strlcpy (gpu.nvenc_failed_step, "nvEncOpenEncodeSessionEx", sizeof gpu.nvenc_failed_step);
  g_strlcpy (gpu.nvenc_status_name, "NV_ENC_ERR_UNSUPPORTED_DEVICE", sizeof gpu.nvenc_status_name);
  g_assert_false (lb_hw_nvenc_usable (&gpu, &reason));
  g_assert_nonnull (
      strstr (reason, "nvEncOpenEncodeSessionEx failed with NV_ENC_ERR_UNSUPPORTED_DEVICE"));
  gpu.nvenc_available = 1;
  g_assert_true (lb_hw_nvenc_usable (&gpu, &reason));
  g_assert_null (reason);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hw/absent-libraries-are-reported", test_absent_libraries_are_reported);
  g_test_add_func ("/hw/render-nodes-that-fail-are-listed", test_render_nodes_that_fail_are_listed);
  g_test_add_func ("/hw/driver-default-limits", test_driver_default_limits);
  g_test_add_func ("/hw/usable-reason", test_usable_reason);
  return g_test_run ();
}
