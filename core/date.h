/* date.h -- the proleptic Gregorian calendar as day numbers (days since 1970-01-01), after
 * H. Hinnant's public-domain algorithms: what the ACGME reference validator and the demo
 * service count days with. No time zones, no I/O. */
#ifndef FL_DATE_H
#define FL_DATE_H

#include <stdint.h>

/* the day number of y-m-d (m 1..12, d 1..31; not checked) */
int32_t date_from_civil(int y, int m, int d);
/* the date of a day number */
void date_to_civil(int32_t day, int *y, int *m, int *d);

#endif
