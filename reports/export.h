/* export.h -- a run's final figures for monitoring: Prometheus text (a textfile-collector
 * file, or pushed to a Pushgateway) and a Slack-compatible chat message.
 *
 * Each reads only the run record (run.json), like the report writers, and returns 0, or
 * -1 with err filled; none prints. Text from the plan or the target is escaped for where it
 * goes (Prometheus label values, JSON, Slack mrkdwn). URLs in errors lose their user:password.
 *
 *   report_prometheus(run, "out/faultline.prom", err);               -- write the file
 *   report_push(run, "http://127.0.0.1:9091", err);                  -- PUT URL/metrics/job/faultline/instance/<plan>
 *   report_notify(run, "https://hooks.slack.com/services/...", err); -- POST {"text": "..."}
 *
 * Metrics (all gauges; label plan="<plan name>" on every sample):
 *   faultline_run_verdict{verdict}          1 for the run's verdict, 0 for the others
 *   faultline_run_exit_code, faultline_run_passed, faultline_run_elapsed_seconds,
 *   faultline_run_timestamp_seconds (end of the run), faultline_run_thresholds_ok
 *   faultline_load_latency_seconds{load,quantile="0.5|0.95|0.99"}, faultline_load_requests_per_second{load},
 *   faultline_load_error_ratio{load}, faultline_load_requests{load}   -- over the whole run
 *   faultline_probe_passed{probe,kind,timing}      1 / 0 (inconclusive probes are left out)
 *   faultline_probe_inconclusive{probe,kind,timing} 1 when the probe could not be judged
 *   faultline_probe_could_not_run{probe,kind,timing} checks that could not be judged
 *   faultline_recovery_seconds{probe,step}         time to recover after the revert (recovered only)
 *   faultline_recovery_recovered{probe,step}       1 / 0
 *   faultline_step_ok{step,fault}                  1 when injected and reverted as planned
 */
#ifndef FL_EXPORT_H
#define FL_EXPORT_H

#include <jansson.h>
#include "buf.h"
#include "fl.h"

/* the Prometheus text (exposition format 0.0.4) of the run into out */
void report_prometheus_text(json_t *run, struct buf *out);
/* the text into path, written atomically (textfile collectors read *.prom files) */
int report_prometheus(json_t *run, const char *path, char *err);
/* HTTP PUT of the text to <pushgateway_url>/metrics/job/faultline/instance/<plan name>
 * (instance@base64/<base64url> when the name holds more than [A-Za-z0-9._-]) */
int report_push(json_t *run, const char *pushgateway_url, char *err);

/* the message: verdict, plan, failed probes with their evidence, load figures (mrkdwn) */
void report_notify_text(json_t *run, struct buf *out);
/* HTTP POST of {"text": <message>} (Slack, Mattermost, Rocket.Chat, Teams-compatible relays) */
int report_notify(json_t *run, const char *url, char *err);

#endif
