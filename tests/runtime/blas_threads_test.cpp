// set_blas_threads (runtime/cpu_report.h): `--threads N` reaches OpenBLAS's own pool, read back through OpenBLAS's
// openblas_get_num_threads (an independent reader); libtorch's thread count does not set it.
#include <gtest/gtest.h>

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include "lmshrink/runtime/cpu_report.h"

namespace {

TEST(BlasThreads, SetBlasThreadsReachesOpenBlas) {
  using Getter = int (*)();
  auto get = reinterpret_cast<Getter>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  ASSERT_NE(get, nullptr) << "the tests link OpenBLAS (scripts/install-deps.sh); this process has none";
  int before = get();
  ASSERT_TRUE(lmshrink::set_blas_threads(1));
  EXPECT_EQ(get(), 1);
  int torch_threads = at::get_num_threads();
  at::set_num_threads(2);  // libtorch's count is its own
  EXPECT_EQ(get(), 1);
  at::set_num_threads(torch_threads);
  ASSERT_TRUE(lmshrink::set_blas_threads(before));
  EXPECT_EQ(get(), before);
}

}  // namespace
