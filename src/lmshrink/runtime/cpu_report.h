// Which CPU code paths compute lmshrink's numbers on this machine: the runtime kernels' family (AVX2+FMA or
// portable), libtorch's dispatch level, and the OpenBLAS core and build. Floating-point sums can differ between
// these paths (issue 27: OpenBLAS's AVX-512 kernels), so `lmshrink --version` and the test log print them, and a
// result from another machine can be read against them.
// Environment knobs that force the other family, for CI and debugging:
//   LMSHRINK_KERNELS=portable   the runtime kernels take their portable path (packed_matrix.h)
//   ATEN_CPU_CAPABILITY=avx2    libtorch's vectorised ops (libtorch's own knob)
//   OPENBLAS_CORETYPE=Haswell   OpenBLAS's kernels (OpenBLAS's own knob)
#pragma once
#include <string>

namespace lmshrink {

struct CpuReport {
  std::string cpu_features;     // "avx2 fma avx512f ..." as the CPU reports them (x86-64), else the architecture
  std::string runtime_kernels;  // "avx2+fma" or "portable": what PackedMatrix and SparseColumns run now
  std::string libtorch;         // "CPU capability AVX2": the vectorised ATen kernels in use
  std::string blas;             // "OpenBLAS core Zen (OpenBLAS 0.3.21 DYNAMIC_ARCH ...)" or "BLAS: not OpenBLAS"
};

CpuReport cpu_report();
std::string describe(const CpuReport& report);  // one line per field, "name: value"

// Sets OpenBLAS's own thread count (its GEMMs and LAPACK calls under libtorch's linear algebra do not follow
// torch::set_num_threads); false when the process's BLAS is not OpenBLAS.
bool set_blas_threads(int threads);

}  // namespace lmshrink
