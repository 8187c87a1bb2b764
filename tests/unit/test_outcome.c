/* test_outcome.c -- the one mapping of outcomes and exit codes: fl_exit_verdict() and
 * fl_exit_worse() (run, matrix, drill), the probe outcome names, and how a matrix row and a
 * drill entry read an inconclusive run (report_why, report_figures). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "fl.h"
#include "harness.h"
#include "figures.h"
#include "probe.h"

TEST(outcome_exit_codes_verdicts_and_worst)
{
    ASSERT_EQ_STR(fl_exit_verdict(FL_EXIT_OK), "passed");
    ASSERT_EQ_STR(fl_exit_verdict(FL_EXIT_FAILED), "failed");
    ASSERT_EQ_STR(fl_exit_verdict(FL_EXIT_INVALID), "invalid");
    ASSERT_EQ_STR(fl_exit_verdict(FL_EXIT_ABORTED), "aborted");
    ASSERT_EQ_STR(fl_exit_verdict(FL_EXIT_REVERT), "revert_failed");
    ASSERT_EQ_STR(fl_exit_verdict(FL_EXIT_INCONCLUSIVE), "inconclusive");
    ASSERT_EQ_INT(FL_EXIT_INCONCLUSIVE, 5);
    /* a failed hypothesis outranks one without evidence; anything outranks a pass */
    ASSERT_EQ_INT(fl_exit_worse(FL_EXIT_INCONCLUSIVE, FL_EXIT_FAILED), FL_EXIT_FAILED);
    ASSERT_EQ_INT(fl_exit_worse(FL_EXIT_FAILED, FL_EXIT_INCONCLUSIVE), FL_EXIT_FAILED);
    ASSERT_EQ_INT(fl_exit_worse(FL_EXIT_OK, FL_EXIT_INCONCLUSIVE), FL_EXIT_INCONCLUSIVE);
    ASSERT_EQ_INT(fl_exit_worse(FL_EXIT_INCONCLUSIVE, FL_EXIT_OK), FL_EXIT_INCONCLUSIVE);
    ASSERT_EQ_INT(fl_exit_worse(FL_EXIT_INCONCLUSIVE, FL_EXIT_ABORTED), FL_EXIT_ABORTED);
    ASSERT_EQ_INT(fl_exit_worse(FL_EXIT_REVERT, FL_EXIT_ABORTED), FL_EXIT_REVERT);
    ASSERT_EQ_INT(fl_exit_worse(FL_EXIT_INVALID, FL_EXIT_FAILED), FL_EXIT_INVALID);
    ASSERT_EQ_STR(probe_outcome_name(PROBE_PASSED), "passed");
    ASSERT_EQ_STR(probe_outcome_name(PROBE_FAILED), "failed");
    ASSERT_EQ_STR(probe_outcome_name(PROBE_INCONCLUSIVE), "inconclusive");
    ASSERT_EQ_INT(PROBE_INCONCLUSIVE, 0); /* a check that sets nothing proves nothing */
}

TEST(outcome_matrix_row_of_an_inconclusive_run)
{
    json_t *run = json_loads(
        "{\"verdict\": \"inconclusive\", \"exit_code\": 5, \"steady_state\": {\"held_before\": true, \"held_after\": true,"
        " \"before_verdict\": \"passed\", \"after_verdict\": \"passed\"},"
        " \"inconclusive\": [{\"what\": \"probe\", \"name\": \"back\", \"reason\": \"no evidence within 5.0s\"}],"
        " \"probes\": [{\"name\": \"back\", \"kind\": \"recovery\", \"verdict\": \"inconclusive\", \"reason\": \"no evidence within 5.0s\","
        "   \"observations\": [{\"t_ms\": 9000, \"outcome\": \"inconclusive\", \"ok\": false, \"observed\": \"no evidence within 5.0s\"}]}]}",
        0, NULL);
    ASSERT(run);
    char *why = report_why(run);
    ASSERT_CONTAINS(why, "probe 'back' inconclusive: no evidence within 5.0s");
    ASSERT(!strstr(why, "steady state broken"));
    free(why);
    json_t *row = json_object();
    report_figures(run, row);
    /* no evidence of a recovery, and none of its absence */
    ASSERT(json_is_null(json_object_get(row, "recovered")));
    ASSERT(json_is_true(json_object_get(row, "recovery_inconclusive")));
    ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(row, "recoveries"), 0), "verdict")),
                  "inconclusive");
    json_decref(row);
    json_decref(run);
}

/* a recovery that was seen (its one observation passed) but with less evidence than the
 * probe's min_evidence asks (run_probe_verdict: inconclusive): not a measured recovery */
TEST(outcome_recovery_below_min_evidence_is_not_recovered_in_the_figures)
{
    json_t *run = json_loads(
        "{\"verdict\": \"inconclusive\", \"exit_code\": 5,"
        " \"probes\": [{\"name\": \"back\", \"kind\": \"recovery\", \"verdict\": \"inconclusive\","
        "   \"reason\": \"3 units of evidence, min_evidence is 5\", \"evidence\": 3, \"min_evidence\": 5,"
        "   \"observations\": [{\"t_ms\": 9000, \"outcome\": \"passed\", \"ok\": true, \"evidence\": 3, \"value\": 1200,"
        "                       \"observed\": \"recovered in 1.2s (3 passes in a row, resolution 1000ms)\"}]}]}",
        0, NULL);
    ASSERT(run);
    json_t *row = json_object();
    report_figures(run, row);
    ASSERT_MSG(json_is_null(json_object_get(row, "recovered")), "recovered: %s",
               json_is_true(json_object_get(row, "recovered")) ? "true" : "false");
    ASSERT(json_is_true(json_object_get(row, "recovery_inconclusive")));
    ASSERT(json_is_null(json_object_get(row, "recovery_ms")));
    struct report_cells c;
    report_cells(row, &c);
    ASSERT_EQ_STR(c.recovery, "inconclusive");
    json_decref(row);
    json_decref(run);
}
