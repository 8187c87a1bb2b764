/* fuzz_journal.c -- libFuzzer target: the journal reader (journal_parse) on arbitrary bytes,
 * as a crash, a power loss or a hand edit may leave the file. Reading does no I/O: any input
 * must end in a list of pending entries and of problems, never a crash; every entry must
 * carry what rollback reads. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "journal.h"

#ifndef FUZZ_FAIL
#define FUZZ_FAIL(...) abort()
#endif
#ifndef FUZZ_JOURNAL_ENTRY
#define FUZZ_JOURNAL_ENTRY LLVMFuzzerTestOneInput
#endif

int FUZZ_JOURNAL_ENTRY(const uint8_t *data, size_t size);
int FUZZ_JOURNAL_ENTRY(const uint8_t *data, size_t size)
{
    json_t *problems = NULL;
    json_t *pend = journal_parse((const char *)data, size, &problems);
    if (!json_is_array(pend) || !json_is_array(problems)) FUZZ_FAIL("journal_parse: not arrays");
    size_t i;
    json_t *e;
    json_array_foreach(pend, i, e) {
        const char *op = json_string_value(json_object_get(e, "op"));
        if (!op || !json_string_value(json_object_get(e, "run"))) FUZZ_FAIL("entry %zu without op or run", i);
        if (!strcmp(op, "step") && (!json_string_value(json_object_get(e, "kind")) ||
                                    !json_string_value(json_object_get(e, "step")) ||
                                    !json_is_array(json_object_get(e, "progress"))))
            FUZZ_FAIL("step entry %zu without kind, step or progress", i);
        if (!strcmp(op, "service") && !json_string_value(json_object_get(e, "name")))
            FUZZ_FAIL("service entry %zu without a name", i);
    }
    json_decref(pend);
    json_decref(problems);
    return 0;
}
