// Gram accumulation in float64 with NaN/Inf batch skipping (see gram.h).
#include "lmshrink/calib/gram.h"

#include "lmshrink/util/error.h"

namespace lmshrink {

void LayerStats::accumulate(const at::Tensor& x) {
  LMSHRINK_CHECK(x.dim() >= 1 && x.is_floating_point(), "LayerStats::accumulate: expected a floating tensor [..., in]");
  int64_t in = x.size(-1);
  LMSHRINK_CHECK(!gram.defined() || gram.size(0) == in, "LayerStats::accumulate: input width ", in,
                 " differs from the Gram's ", gram.defined() ? gram.size(0) : 0);
  if (!torch::isfinite(x).all().item<bool>()) {
    ++skipped_batches;
    return;
  }
  at::Tensor rows = x.reshape({-1, in}).to(torch::kFloat64);  // [tokens, in]
  if (!gram.defined()) {
    gram = torch::zeros({in, in}, rows.options());
    abs_sum = torch::zeros({in}, rows.options());
  }
  gram.addmm_(rows.t(), rows);
  abs_sum.add_(rows.abs().sum(0));
  tokens += rows.size(0);
}

void LayerStats::check_accumulated(const std::string& layer_name) const {
  LMSHRINK_CHECK(skipped_batches == 0 || (gram.defined() && tokens > 0), layer_name, ": all ", skipped_batches,
                 " calibration batches reaching its input held NaN or Inf activations (weights too large for float32?)");
  LMSHRINK_CHECK(gram.defined() && abs_sum.defined() && tokens > 0, layer_name, ": no calibration statistics for its input");
}

at::Tensor LayerStats::channel_abs_mean() const {
  check_accumulated("calibration statistics");
  return abs_sum / static_cast<double>(tokens);
}

LayerStats& BlockStats::of(LinearInput input) {
  switch (input) {
    case LinearInput::kQkv: return qkv;
    case LinearInput::kO: return o;
    case LinearInput::kGateUp: return gate_up;
    case LinearInput::kDown: return down;
  }
  fail("BlockStats::of: unknown LinearInput");
}

const LayerStats& BlockStats::of(LinearInput input) const {
  return const_cast<BlockStats*>(this)->of(input);
}

const char* linear_input_name(LinearInput input) {
  switch (input) {
    case LinearInput::kQkv: return "qkv";
    case LinearInput::kO: return "o";
    case LinearInput::kGateUp: return "gate_up";
    case LinearInput::kDown: return "down";
  }
  return "?";
}

}  // namespace lmshrink
