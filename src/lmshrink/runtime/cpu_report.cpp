// The CPU code paths in use (see cpu_report.h): read from the CPU, from libtorch's build summary and from OpenBLAS,
// found at run time so that a libtorch on another BLAS still reports.
#include "lmshrink/runtime/cpu_report.h"

#include <ATen/Version.h>
#include <dlfcn.h>

#include <sstream>

#include "lmshrink/runtime/packed_matrix.h"

namespace lmshrink {

namespace {

std::string cpu_features() {
#if defined(__x86_64__)
  std::string features;
  auto add = [&features](const char* name, bool has) {
    if (has) features += features.empty() ? name : std::string(" ") + name;
  };
  add("avx2", __builtin_cpu_supports("avx2"));
  add("fma", __builtin_cpu_supports("fma"));
  add("avx512f", __builtin_cpu_supports("avx512f"));
  add("avx512bw", __builtin_cpu_supports("avx512bw"));
  add("avx512vnni", __builtin_cpu_supports("avx512vnni"));
  add("avx512bf16", __builtin_cpu_supports("avx512bf16"));
  return "x86-64 " + (features.empty() ? std::string("(no avx2)") : features);
#elif defined(__aarch64__)
  return "aarch64";
#else
  return "unknown architecture";
#endif
}

// The "CPU capability usage" line of libtorch's build summary: the vectorised kernels it dispatches to.
std::string libtorch_capability() {
  std::string config = at::show_config();
  std::string key = "CPU capability usage: ";
  size_t at = config.find(key);
  if (at == std::string::npos) return "CPU capability not reported";
  size_t end = config.find('\n', at);
  return "CPU capability " + config.substr(at + key.size(), end - at - key.size());
}

std::string openblas() {
  using Getter = char* (*)();
  auto corename = reinterpret_cast<Getter>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  auto config = reinterpret_cast<Getter>(::dlsym(RTLD_DEFAULT, "openblas_get_config"));
  if (corename == nullptr) return "not OpenBLAS (no openblas_get_corename in the process)";
  std::string text = std::string("OpenBLAS core ") + corename();
  if (config != nullptr) text += std::string(" (") + config() + ")";
  return text;
}

}  // namespace

bool set_blas_threads(int threads) {
  using Setter = void (*)(int);
  auto setter = reinterpret_cast<Setter>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (setter == nullptr) return false;
  setter(threads);
  return true;
}

CpuReport cpu_report() {
  CpuReport report;
  report.cpu_features = cpu_features();
  report.runtime_kernels = use_avx2_kernels() ? "avx2+fma" : "portable";
  report.libtorch = libtorch_capability();
  report.blas = openblas();
  return report;
}

std::string describe(const CpuReport& report) {
  std::ostringstream text;
  text << "cpu: " << report.cpu_features << "\n"
       << "runtime kernels: " << report.runtime_kernels << "\n"
       << "libtorch: " << report.libtorch << "\n"
       << "blas: " << report.blas << "\n";
  return text.str();
}

}  // namespace lmshrink
