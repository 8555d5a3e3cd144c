// Block-by-block calibration streaming over held hidden states (see streaming.h).
#include "lmshrink/calib/streaming.h"

#include "lmshrink/io/mapped_pages.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"

namespace lmshrink {

namespace {

// Routes every linear input of the observed block into its Gram.
class GramObserver : public BlockObserver {
 public:
  GramObserver(int64_t layer, BlockStats& stats) : layer_(layer), stats_(stats) {}
  void on_linear_input(int64_t layer, LinearInput input, const at::Tensor& x) override {
    LMSHRINK_CHECK(layer == layer_, "calibration: observer of block ", layer_, " saw block ", layer);
    stats_.of(input).accumulate(x);
  }

 private:
  int64_t layer_;
  BlockStats& stats_;
};

// Shows each linear input to two observers (either may be null).
class TeeObserver : public BlockObserver {
 public:
  TeeObserver(BlockObserver* first, BlockObserver* second) : first_(first), second_(second) {}
  void on_linear_input(int64_t layer, LinearInput input, const at::Tensor& x) override {
    if (first_) first_->on_linear_input(layer, input, x);
    if (second_) second_->on_linear_input(layer, input, x);
  }

 private:
  BlockObserver* first_;
  BlockObserver* second_;
};

}  // namespace

BlockStreamer::BlockStreamer(const Transformer& model, at::Tensor calib_tokens, int64_t batch_size)
    : model_(model), batch_size_(batch_size) {
  LMSHRINK_CHECK(calib_tokens.dim() == 2 && calib_tokens.scalar_type() == torch::kInt64 && calib_tokens.size(0) > 0 &&
                     calib_tokens.size(1) > 0,
                 "calibration tokens: expected int64 [n_samples, seq_len], got ", calib_tokens.sizes());
  LMSHRINK_CHECK(batch_size > 0, "calibration: batch size must be positive, got ", batch_size);
  LMSHRINK_CHECK(calib_tokens.size(1) <= model.config().max_position_embeddings, "calibration: seq_len ",
                 calib_tokens.size(1), " exceeds the model context of ", model.config().max_position_embeddings);
  torch::NoGradGuard no_grad;
  at::Tensor tokens = calib_tokens.to(model.embed_tokens().device());
  std::vector<at::Tensor> parts;
  for (int64_t s0 = 0; s0 < tokens.size(0); s0 += batch_size_) {
    int64_t count = std::min(batch_size_, tokens.size(0) - s0);
    parts.push_back(model.embed(tokens.narrow(0, s0, count)).to(torch::kFloat32));
  }
  hidden_ = torch::cat(parts, 0);  // [n, seq, hidden]
}

BlockStats BlockStreamer::run(int64_t layer, bool observe, bool keep_outputs, BlockObserver* extra) {
  LMSHRINK_CHECK(layer == next_layer_, "calibration: the held inputs enter block ", next_layer_, ", not block ", layer);
  LMSHRINK_CHECK(layer < model_.config().num_layers, "calibration: block ", layer, " past the model's ",
                 model_.config().num_layers, " layers");
  torch::NoGradGuard no_grad;
  BlockStats stats;
  GramObserver grams(layer, stats);
  TeeObserver tee(observe ? &grams : nullptr, extra);
  BlockObserver* observer = (observe || extra) ? &tee : nullptr;
  int64_t n = hidden_.size(0);
  int64_t batches = (n + batch_size_ - 1) / batch_size_;
  const char* what = observe ? (keep_outputs ? "calib+advance" : "calib") : "advance";
  Progress progress(str_cat(what, " block ", layer), batches);
  for (int64_t s0 = 0; s0 < n; s0 += batch_size_) {
    int64_t count = std::min(batch_size_, n - s0);
    at::Tensor in = hidden_.narrow(0, s0, count);  // [count, seq, hidden]
    at::Tensor out = model_.block_forward(layer, in, /*start_pos=*/0, /*cache=*/nullptr, observer);
    if (keep_outputs) hidden_.narrow(0, s0, count).copy_(out);  // in-place: block inputs of later samples untouched
    progress.advance();
  }
  progress.finish();
  release_mapped_pages();  // the block's weights leave memory until they are read again (io/mapped_pages.h)
  if (keep_outputs) ++next_layer_;
  return stats;
}

BlockStats BlockStreamer::collect(int64_t layer) { return run(layer, true, false); }
void BlockStreamer::advance(int64_t layer) { run(layer, false, true); }
void BlockStreamer::advance(int64_t layer, BlockObserver* observer) { run(layer, false, true, observer); }
BlockStats BlockStreamer::collect_and_advance(int64_t layer) { return run(layer, true, true); }

void BlockStreamer::skip(int64_t layer) {
  LMSHRINK_CHECK(layer == next_layer_, "calibration: the held inputs enter block ", next_layer_, ", not block ", layer);
  LMSHRINK_CHECK(layer < model_.config().num_layers, "calibration: block ", layer, " past the model's ",
                 model_.config().num_layers, " layers");
  ++next_layer_;
}

std::vector<BlockStats> collect_all_one_shot(const Transformer& model, const at::Tensor& calib_tokens,
                                             int64_t batch_size) {
  BlockStreamer streamer(model, calib_tokens, batch_size);
  std::vector<BlockStats> all;
  for (int64_t layer = 0; layer < model.config().num_layers; ++layer) {
    all.push_back(layer + 1 < model.config().num_layers ? streamer.collect_and_advance(layer) : streamer.collect(layer));
  }
  return all;
}

}  // namespace lmshrink
