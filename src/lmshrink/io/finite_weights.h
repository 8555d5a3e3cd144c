// Weights must be finite (issue 21): one NaN or Inf in a checkpoint turns every later activation into NaN, and
// compress, prune or eval would then write NaN models or print "ppl nan". Checkpoints are checked as they load,
// tensor by tensor, in their stored dtype (the exponent bits all ones), and a mapped tensor's pages are released
// after the check so the scan does not raise peak memory. `inspect --allow-nonfinite` loads such a file anyway.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace lmshrink {

// The flat index of the first NaN or Inf of a floating tensor (F64, F32, F16, BF16; any strides), -1 when every
// value is finite or the tensor is not floating.
int64_t first_nonfinite(const at::Tensor& t);

// Throws lmshrink::Error "ORIGIN: tensor NAME holds NaN or Inf (element I = V) ..." when t is not all finite; when it
// is, and t is a contiguous view of a registered file mapping, releases the scanned pages (mapped_pages.h).
void check_finite_weight(const at::Tensor& t, const std::string& origin, const std::string& name);

}  // namespace lmshrink
