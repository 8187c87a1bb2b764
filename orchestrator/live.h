/* live.h -- live metrics while a run goes on: the newest figures PUT to a Prometheus
 * Pushgateway every few seconds (--pushgateway) and a JSON event POSTed at each inject and
 * revert (--annotate), from a thread of their own so a slow receiver never delays the run.
 *
 *   struct live *l = live_new(push_url_or_NULL, annotate_url_or_NULL, plan_name);
 *   live_metrics(l, text);           -- Prometheus text format; only the newest is sent
 *   live_event(l, "inject", step, fault, target, text);
 *   live_free(l);                    -- sends what is pending (bounded: 5 s), joins
 * Failures are counted and logged once (fl_log), never fatal; URLs' passwords never printed.
 * The event body (docs/plan-format.md "Live metrics"): a Grafana annotations body
 *   {"time": <epoch ms>, "tags": ["faultline", "<plan>", "<phase>", "<step>"], "text": "...",
 *    "plan": "...", "phase": "inject"|"revert", "step": "...", "fault": "...", "target": "..."}
 */
#ifndef FL_LIVE_H
#define FL_LIVE_H

struct live;
struct live *live_new(const char *push_url, const char *annotate_url, const char *plan);
void live_metrics(struct live *l, const char *text);
void live_event(struct live *l, const char *phase, const char *step, const char *fault, const char *target,
                const char *text);
void live_free(struct live *l);

#endif
