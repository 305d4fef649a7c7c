/* lobbyd-probe — prints what encoding hardware this machine has, as JSON
 * (--json) or a table, and optionally times the NVML encoder-usage query.
 * Builds with gcc alone: see tests/device/run.sh. */
#include "lb-hw.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int
main (int argc, char **argv)
{
  int json = 0, bench = 0;
  lb_hw_probe_options options = { 0 };

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--json") == 0)
        json = 1;
      else if (strcmp (argv[i], "--bench") == 0 && i + 1 < argc)
        bench = atoi (argv[++i]);
      else if (strcmp (argv[i], "--dri-dir") == 0 && i + 1 < argc)
        options.dri_dir = argv[++i];
      else
        {
          fprintf (stderr, "usage: %s [--json] [--bench N] [--dri-dir DIR]\n", argv[0]);
          return 2;
        }
    }

  static lb_hw_report report;
  lb_hw_probe (&report, &options);
  if (json)
    lb_hw_report_write_json (&report, stdout);
  else
    lb_hw_report_write_table (&report, stdout);

  if (bench > 0 && report.gpu_count > 0)
    {
      /* Per-call cost of the query lobbyd makes to count other processes'
       * encoder sessions (NVML already initialised, as in the daemon). */
      double *t = calloc ((size_t)bench, sizeof *t);
      unsigned sessions = 0, pids[64], npids = 0;
      for (int i = 0; i < bench; i++)
        {
          double t0 = now_us ();
          int rc = lb_hw_nvml_encoder_sessions (0, &sessions, pids, 64, &npids);
          t[i] = now_us () - t0;
          if (rc != 0)
            {
              fprintf (stderr, "NVML query failed: %d\n", rc);
              return 1;
            }
        }
      qsort (t, (size_t)bench, sizeof *t, compare_double);
      double sum = 0;
      for (int i = 0; i < bench; i++)
        sum += t[i];
      printf ("nvml-query: n=%d sessions=%u mean_us=%.2f p50_us=%.2f p99_us=%.2f\n", bench,
              sessions, sum / bench, t[bench / 2], t[(int)(bench * 0.99)]);
      free (t);
    }
  lb_hw_nvml_shutdown ();
  return 0;
}
