/* test_theap.c -- the timers' min-heap shared by the proxy and load engines: nodes come out
 * in due order through inserts, moves (earlier and later) and removals, and a removed or
 * moved node is never seen at its old time. Checked against a plain array. */
#include <stdlib.h>
#include "harness.h"
#include "fl.h"
#include "theap.h"

TEST_FILE_USES("");

struct timer { int id; struct theap_node tm; };

TEST(theap_order_through_sets_moves_and_removals)
{
    enum { N = 500 };
    static struct timer t[N];
    int64_t want[N];          /* due of each timer, -1 when not queued */
    struct theap h = { 0 };
    uint64_t rng = 20;
    for (int i = 0; i < N; i++) { t[i].id = i; theap_node_init(&t[i].tm); want[i] = -1; }
    for (int round = 0; round < 20000; round++) {
        int i = (int)(fl_rand01(&rng) * N);
        double r = fl_rand01(&rng);
        if (r < 0.6) {
            int64_t due = (int64_t)(fl_rand01(&rng) * 1000);
            theap_set(&h, &t[i].tm, due);   /* insert, or move earlier or later */
            want[i] = due;
        } else if (r < 0.8) {
            theap_remove(&h, &t[i].tm);
            want[i] = -1;
        } else {
            /* pop everything due by now, in order */
            int64_t now = (int64_t)(fl_rand01(&rng) * 1000), last = -1;
            struct theap_node *x;
            while ((x = theap_top(&h)) && x->due <= now) {
                struct timer *tt = THEAP_ENTRY(x, struct timer, tm);
                ASSERT_MSG(want[tt->id] == x->due, "timer %d came out at %lld, set to %lld", tt->id, (long long)x->due,
                           (long long)want[tt->id]);
                ASSERT_MSG(x->due >= last, "out of order: %lld after %lld", (long long)x->due, (long long)last);
                last = x->due;
                theap_remove(&h, x);
                ASSERT(!theap_queued(x));
                want[tt->id] = -1;
            }
            for (int k = 0; k < N; k++)
                ASSERT_MSG(want[k] < 0 || want[k] > now, "timer %d due %lld was not popped by %lld", k, (long long)want[k],
                           (long long)now);
        }
        size_t queued = 0;
        for (int k = 0; k < N; k++) queued += want[k] >= 0;
        ASSERT_EQ_INT(h.n, queued);
    }
    theap_release(&h);
}
