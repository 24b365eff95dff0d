#include <omp.h>

#include "../common/check.hpp"
#include "fastaug/ops.hpp"

namespace fastaug {

void set_num_threads(int n) {
  FASTAUG_CHECK(n >= 1, "n: expected a positive thread count, got ", n);
  omp_set_num_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

}  // namespace fastaug
