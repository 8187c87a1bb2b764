/* test_value.c -- durations, rates, percentages, sizes and expectations. */
#include "harness.h"
#include "value.h"

TEST(value_durations)
{
    int64_t ms;
    char err[FL_ERR_LEN];
    ASSERT_EQ_INT(val_duration_ms("250ms", &ms, err), 0); ASSERT_EQ_INT(ms, 250);
    ASSERT_EQ_INT(val_duration_ms("30s", &ms, err), 0); ASSERT_EQ_INT(ms, 30000);
    ASSERT_EQ_INT(val_duration_ms("2m", &ms, err), 0); ASSERT_EQ_INT(ms, 120000);
    ASSERT_EQ_INT(val_duration_ms("1h", &ms, err), 0); ASSERT_EQ_INT(ms, 3600000);
    ASSERT_EQ_INT(val_duration_ms("1.5s", &ms, err), 0); ASSERT_EQ_INT(ms, 1500);
    ASSERT_EQ_INT(val_duration_ms("0", &ms, err), 0); ASSERT_EQ_INT(ms, 0);
    ASSERT_EQ_INT(val_duration_ms("30", &ms, err), -1); ASSERT_CONTAINS(err, "give a unit");
    ASSERT_EQ_INT(val_duration_ms("-1s", &ms, err), -1); ASSERT_CONTAINS(err, "negative");
    ASSERT_EQ_INT(val_duration_ms("5 parsecs", &ms, err), -1); ASSERT_CONTAINS(err, "unknown unit 'parsecs'");
    ASSERT_EQ_INT(val_duration_ms("", &ms, err), -1);
    /* compound durations, as Go, k6, Docker and systemd write them */
    ASSERT_EQ_INT(val_duration_ms("1m30s", &ms, err), 0); ASSERT_EQ_INT(ms, 90000);
    ASSERT_EQ_INT(val_duration_ms("1h2m3s", &ms, err), 0); ASSERT_EQ_INT(ms, 3723000);
    ASSERT_EQ_INT(val_duration_ms("1h2m", &ms, err), 0); ASSERT_EQ_INT(ms, 3720000);
    ASSERT_EQ_INT(val_duration_ms("2s500ms", &ms, err), 0); ASSERT_EQ_INT(ms, 2500);
    ASSERT_EQ_INT(val_duration_ms("1.5m30s", &ms, err), 0); ASSERT_EQ_INT(ms, 120000);
    ASSERT_EQ_INT(val_duration_ms("500ms", &ms, err), 0); ASSERT_EQ_INT(ms, 500);
    ASSERT_EQ_INT(val_duration_ms("2min", &ms, err), 0); ASSERT_EQ_INT(ms, 120000);
    int64_t us;
    ASSERT_EQ_INT(val_duration_us("1ms250us", &us, err), 0); ASSERT_EQ_INT(us, 1250);
    ASSERT_EQ_INT(val_duration_ms("30s1m", &ms, err), -1); ASSERT_CONTAINS(err, "largest to smallest");
    ASSERT_EQ_INT(val_duration_ms("1m1m", &ms, err), -1); ASSERT_CONTAINS(err, "largest to smallest");
    ASSERT_EQ_INT(val_duration_ms("1m30", &ms, err), -1); ASSERT_CONTAINS(err, "last number has no unit");
    ASSERT_EQ_INT(val_duration_ms("1m30x", &ms, err), -1); ASSERT_CONTAINS(err, "unknown unit 'x'");
    ASSERT_EQ_INT(val_duration_ms("1m-30s", &ms, err), -1); ASSERT_CONTAINS(err, "unexpected '-30s'");
    ASSERT_EQ_INT(val_duration_ms("1h 30m", &ms, err), 0); ASSERT_EQ_INT(ms, 5400000);
    int64_t lo, hi;
    ASSERT_EQ_INT(val_duration_range("100ms..300ms", &lo, &hi, err), 0); ASSERT_EQ_INT(lo, 100); ASSERT_EQ_INT(hi, 300);
    ASSERT_EQ_INT(val_duration_range("300ms..100ms", &lo, &hi, err), -1);
    char out[32];
    val_fmt_duration(1500, out); ASSERT_EQ_STR(out, "1.5s");
    val_fmt_duration(120000, out); ASSERT_EQ_STR(out, "2m");
}

TEST(value_rates_percent_bytes)
{
    double v;
    int64_t b;
    char err[FL_ERR_LEN];
    ASSERT_EQ_INT(val_rate("200/s", &v, err), 0); ASSERT_NEAR(v, 200, 1e-9);
    ASSERT_EQ_INT(val_rate("12000/m", &v, err), 0); ASSERT_NEAR(v, 200, 1e-9);
    ASSERT_EQ_INT(val_rate("200", &v, err), -1);
    ASSERT_EQ_INT(val_percent("5%", &v, 0, err), 0); ASSERT_NEAR(v, 0.05, 1e-12);
    ASSERT_EQ_INT(val_percent("0.5", &v, 1, err), 0); ASSERT_NEAR(v, 0.5, 1e-12);
    ASSERT_EQ_INT(val_percent("0.5", &v, 0, err), -1);
    ASSERT_EQ_INT(val_percent("150%", &v, 0, err), -1);
    ASSERT_EQ_INT(val_bytes("64mb", &b, err), 0); ASSERT_EQ_INT(b, 64LL << 20);
    ASSERT_EQ_INT(val_bytes("10 furlongs", &b, err), -1);
    /* beyond 2^62 bytes (or not finite): an error, never a wrapped llround() */
    ASSERT_EQ_INT(val_bytes("1e30g", &b, err), -1); ASSERT_CONTAINS(err, "'1e30g' is too large");
    ASSERT_EQ_INT(val_bytes("1e308g", &b, err), -1); ASSERT_CONTAINS(err, "too large");
    ASSERT_EQ_INT(val_bytes("nan", &b, err), -1);
    ASSERT_EQ_INT(val_bytes("4294967296g", &b, err), 0); ASSERT_EQ_INT(b, 1LL << 62);
    ASSERT_EQ_INT(val_bytes("4294967297g", &b, err), -1);
}

TEST(value_expectations)
{
    struct expect e;
    char err[FL_ERR_LEN];
    ASSERT_EQ_INT(expect_parse("p95 < 2s", val_load_metrics, &e, err), 0);
    ASSERT_EQ_STR(e.metric, "p95"); ASSERT_EQ_INT(e.op, EXP_LT); ASSERT_NEAR(e.num, 2000, 1e-9);
    ASSERT(expect_eval_num(&e, 1999)); ASSERT(!expect_eval_num(&e, 2000));
    expect_release(&e);
    ASSERT_EQ_INT(expect_parse("error_rate < 1%", val_load_metrics, &e, err), 0);
    ASSERT_NEAR(e.num, 0.01, 1e-12); ASSERT(expect_eval_num(&e, 0.005)); ASSERT(!expect_eval_num(&e, 0.02));
    expect_release(&e);
    ASSERT_EQ_INT(expect_parse("rps >= 50% of baseline", val_load_metrics, &e, err), 0);
    ASSERT(e.of_baseline); ASSERT_NEAR(e.num, 0.5, 1e-12);
    expect_release(&e);
    ASSERT_EQ_INT(expect_parse("p99 < 1m30s", val_load_metrics, &e, err), 0); ASSERT_NEAR(e.num, 90000, 1e-9);
    expect_release(&e);
    int64_t lo2, hi2;
    ASSERT_EQ_INT(val_duration_range("1m..1m30s", &lo2, &hi2, err), 0); ASSERT_EQ_INT(lo2, 60000); ASSERT_EQ_INT(hi2, 90000);
    ASSERT_EQ_INT(expect_parse("p95 < 2", val_load_metrics, &e, err), -1); ASSERT_CONTAINS(err, "give 'p95' a unit");
    ASSERT_EQ_INT(expect_parse("p96 < 2s", val_load_metrics, &e, err), -1); ASSERT_CONTAINS(err, "unknown metric 'p96'");
    ASSERT_EQ_INT(expect_parse("error_rate < 0.01", val_load_metrics, &e, err), -1); ASSERT_CONTAINS(err, "percentage");
    ASSERT_EQ_INT(expect_parse("PONG", NULL, &e, err), 0);
    ASSERT(expect_eval_str(&e, "PONG")); ASSERT(!expect_eval_str(&e, "PANG"));
    expect_release(&e);
    ASSERT_EQ_INT(expect_parse("< 100", NULL, &e, err), 0);
    ASSERT(expect_eval_str(&e, "99")); ASSERT(!expect_eval_str(&e, "100")); ASSERT(!expect_eval_str(&e, "lots"));
    expect_release(&e);
    ASSERT_EQ_INT(expect_parse("t", NULL, &e, err), 0);
    ASSERT(expect_eval_str(&e, "t")); ASSERT(!expect_eval_str(&e, "f"));
    expect_release(&e);
    ASSERT_EQ_INT(expect_parse("exit 0", NULL, &e, err), 0);
    ASSERT_EQ_STR(e.metric, "exit"); ASSERT(expect_eval_num(&e, 0)); ASSERT(!expect_eval_num(&e, 1));
    expect_release(&e);
}
