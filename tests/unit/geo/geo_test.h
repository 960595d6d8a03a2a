/* geo_test.h - helpers shared by the geo unit tests (cmocka 1.1.5 has no
 * double comparison). Include after <cmocka.h>. */
#ifndef MD_GEO_TEST_H
#define MD_GEO_TEST_H

#include <math.h>

/* Fails (with both values) unless |actual - expected| <= tol; NaN fails. */
#define assert_close(actual, expected, tol)                                                        \
    do {                                                                                           \
        double actual_ = (actual), expected_ = (expected), tol_ = (tol);                           \
        if (!(fabs(actual_ - expected_) <= tol_))                                                  \
            fail_msg("%s = %.15g, expected %.15g within %g", #actual, actual_, expected_, tol_);   \
    } while (0)

#endif
