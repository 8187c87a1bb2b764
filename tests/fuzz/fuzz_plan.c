/* fuzz_plan.c -- libFuzzer target: the plan parser and validator on arbitrary bytes.
 * Parsing does no I/O, so any input must end in a plan or in diagnostics, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct diag d;
    diag_init(&d, "fuzz.yaml");
    struct plan *p = plan_parse("fuzz.yaml", (const char *)data, size, NULL, &d);
    plan_free(p);
    diag_release(&d);
    return 0;
}
