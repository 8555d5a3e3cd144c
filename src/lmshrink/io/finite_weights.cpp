// Finite-weight checks at load (see finite_weights.h).
#include "lmshrink/io/finite_weights.h"

#include <cstring>

#include "lmshrink/io/mapped_pages.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

// Index of the first element whose exponent bits are all ones (NaN or ±Inf) in n contiguous words.
template <typename Word>
int64_t first_all_ones_exponent(const Word* words, int64_t n, Word exponent_mask) {
  constexpr int64_t kChunk = 4096;  // a branch-free pass per chunk vectorises; the exact index is found after
  for (int64_t start = 0; start < n; start += kChunk) {
    int64_t end = std::min(n, start + kChunk);
    bool found = false;
    for (int64_t i = start; i < end; ++i) found |= (words[i] & exponent_mask) == exponent_mask;
    if (!found) continue;
    for (int64_t i = start; i < end; ++i)
      if ((words[i] & exponent_mask) == exponent_mask) return i;
  }
  return -1;
}

}  // namespace

int64_t first_nonfinite(const at::Tensor& t) {
  if (!t.defined() || !at::isFloatingType(t.scalar_type()) || t.numel() == 0) return -1;
  at::Tensor c = t.contiguous();
  int64_t n = c.numel();
  switch (c.scalar_type()) {
    case at::kBFloat16:
      return first_all_ones_exponent(static_cast<const uint16_t*>(c.data_ptr()), n, uint16_t{0x7F80});
    case at::kHalf:
      return first_all_ones_exponent(static_cast<const uint16_t*>(c.data_ptr()), n, uint16_t{0x7C00});
    case at::kFloat:
      return first_all_ones_exponent(static_cast<const uint32_t*>(c.data_ptr()), n, uint32_t{0x7F800000});
    case at::kDouble:
      return first_all_ones_exponent(static_cast<const uint64_t*>(c.data_ptr()), n, uint64_t{0x7FF0000000000000});
    default:
      fail("first_nonfinite: unsupported dtype ", c10::toString(c.scalar_type()));
  }
}

void check_finite_weight(const at::Tensor& t, const std::string& origin, const std::string& name) {
  int64_t index = first_nonfinite(t);
  if (index < 0) {
    // A tensor viewing a mapped checkpoint: the scan must not raise peak memory (a no-op for heap tensors).
    if (t.is_contiguous()) release_mapped_range(t.data_ptr(), static_cast<size_t>(t.nbytes()));
    return;
  }
  double value = t.reshape({-1})[index].item<double>();
  fail(origin, ": tensor ", name, " holds NaN or Inf (element ", index, " = ", value,
       "); such a model computes only NaN (`lmshrink inspect --allow-nonfinite` shows it anyway)");
}

}  // namespace lmshrink
