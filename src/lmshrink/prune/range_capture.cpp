// Streams the calibration set to one block range, keeping M and R (see range_capture.h).
#include "lmshrink/prune/range_capture.h"

#include "lmshrink/calib/streaming.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

// Writes the MLP output of one block, computed from its down_proj input, into mlp_out in sample order.
class MlpOutputObserver : public BlockObserver {
 public:
  MlpOutputObserver(const TransformerBlock& block, at::Tensor mlp_out) : block_(block), mlp_out_(std::move(mlp_out)) {}
  void on_linear_input(int64_t, LinearInput input, const at::Tensor& x) override {
    if (input != LinearInput::kDown) return;
    int64_t count = x.size(0);  // x [count, seq, intermediate]
    mlp_out_.narrow(0, next_sample_, count).copy_(block_.down_proj->forward(x));
    next_sample_ += count;
  }
  int64_t samples_seen() const { return next_sample_; }

 private:
  const TransformerBlock& block_;
  at::Tensor mlp_out_;  // [n, seq, hidden]
  int64_t next_sample_ = 0;
};

}  // namespace

int64_t last_kept_block_before(const BlockRange& range, const std::vector<bool>& dropped) {
  for (int64_t layer = range.first - 1; layer >= 0; --layer) {
    if (!dropped.at(layer)) return layer;
  }
  return -1;
}

RangeActivations capture_range(const Transformer& model, const at::Tensor& calib_tokens, const BlockRange& range,
                               const std::vector<bool>& dropped, int64_t batch_size) {
  int64_t num_layers = model.config().num_layers;
  LMSHRINK_CHECK(static_cast<int64_t>(dropped.size()) == num_layers, "range capture: ", dropped.size(),
                 " dropped flags for ", num_layers, " blocks");
  LMSHRINK_CHECK(range.first <= range.last && range.last < num_layers, "range capture: block range ", describe(range),
                 " outside 0-", num_layers - 1);
  RangeActivations result;
  result.kept_block = last_kept_block_before(range, dropped);
  LMSHRINK_CHECK(result.kept_block >= 0, "replaceme: no kept block before blocks ", describe(range),
                 " to merge the transform into (block 0 cannot be removed by replaceme)");
  torch::NoGradGuard no_grad;
  BlockStreamer streamer(model, calib_tokens, batch_size);
  for (int64_t layer = 0; layer < result.kept_block; ++layer) {
    if (dropped[layer]) streamer.skip(layer); else streamer.advance(layer);
  }
  at::Tensor mlp_out = torch::empty_like(streamer.hidden());  // [n, seq, hidden]
  MlpOutputObserver observer(model.blocks()[result.kept_block], mlp_out);
  streamer.advance(result.kept_block, &observer);
  LMSHRINK_CHECK(observer.samples_seen() == streamer.samples(), "range capture: saw ", observer.samples_seen(),
                 " of ", streamer.samples(), " samples");
  at::Tensor residual = streamer.hidden() - mlp_out;  // Y = h_k - M
  for (int64_t layer = result.kept_block + 1; layer <= range.last; ++layer) {
    if (dropped[layer]) streamer.skip(layer); else streamer.advance(layer);
  }
  at::Tensor target = streamer.hidden() - residual;   // R = h_last - Y
  int64_t hidden = model.config().hidden_size;
  result.mlp_out = mlp_out.reshape({-1, hidden});
  result.target = target.reshape({-1, hidden});
  return result;
}

}  // namespace lmshrink
