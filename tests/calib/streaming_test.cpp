// BlockStreamer on stories260K: the layer-0 qkv Gram equals X^T X of the normed embeddings, hidden
// states streamed through every block give forward()'s logits, and token counts are n * seq_len.
#include "lmshrink/calib/streaming.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lmshrink/io/llama2c.h"
#include "lmshrink/model/linear.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"
#include "test_support.h"

namespace {

at::Tensor random_tokens(int64_t vocab, int64_t n, int64_t seq_len) {
  torch::manual_seed(11);
  return torch::randint(0, vocab, {n, seq_len}, torch::kInt64);
}

// max |a - b| / max |b|
double relative_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

TEST(StreamingTest, LayerZeroQkvGramEqualsNormedEmbeddingGram) {
  lmshrink::set_progress_quiet(true);
  auto model = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  at::Tensor tokens = random_tokens(model->config().vocab_size, 5, 24);
  lmshrink::BlockStreamer streamer(*model, tokens, /*batch_size=*/2);  // 2 + 2 + 1: a partial batch
  lmshrink::BlockStats stats = streamer.collect(0);
  EXPECT_EQ(streamer.next_layer(), 0);  // collect does not advance
  torch::NoGradGuard no_grad;
  at::Tensor x = lmshrink::rms_norm(model->embed(tokens), model->blocks()[0].attn_norm, model->config().rms_norm_eps)
                     .reshape({-1, model->config().hidden_size})
                     .to(torch::kFloat64);
  at::Tensor expected = x.t().matmul(x);
  EXPECT_TRUE(torch::allclose(stats.qkv.gram, expected, 1e-9, 1e-9))
      << (stats.qkv.gram - expected).abs().max().item<double>();
  for (auto input : {lmshrink::LinearInput::kQkv, lmshrink::LinearInput::kO, lmshrink::LinearInput::kGateUp,
                     lmshrink::LinearInput::kDown}) {
    EXPECT_EQ(stats.of(input).tokens, 5 * 24);
    EXPECT_EQ(stats.of(input).skipped_batches, 0);
  }
  EXPECT_EQ(stats.down.gram.size(0), model->config().intermediate_size);
}

TEST(StreamingTest, AdvancingThroughEveryBlockReproducesForwardLogits) {
  lmshrink::set_progress_quiet(true);
  auto model = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  at::Tensor tokens = random_tokens(model->config().vocab_size, 3, 32);
  lmshrink::BlockStreamer streamer(*model, tokens, /*batch_size=*/2);
  for (int64_t layer = 0; layer < model->config().num_layers; ++layer) streamer.advance(layer);
  torch::NoGradGuard no_grad;
  at::Tensor logits = model->head(streamer.hidden());
  at::Tensor expected = model->forward(tokens);
  EXPECT_LE((logits - expected).abs().max().item<double>(), 1e-4);
}

TEST(StreamingTest, OneShotEqualsCollectThenAdvanceAndChecksOrder) {
  lmshrink::set_progress_quiet(true);
  auto model = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  at::Tensor tokens = random_tokens(model->config().vocab_size, 3, 16);
  std::vector<lmshrink::BlockStats> all = lmshrink::collect_all_one_shot(*model, tokens, 3);
  ASSERT_EQ(static_cast<int64_t>(all.size()), model->config().num_layers);
  lmshrink::BlockStreamer streamer(*model, tokens, 1);
  EXPECT_THROW(streamer.collect(1), lmshrink::Error);  // the held inputs enter block 0
  for (int64_t layer = 0; layer < model->config().num_layers; ++layer) {
    lmshrink::BlockStats stats = streamer.collect(layer);
    // batch sizes 1 and 3 run different float32 GEMMs: equal up to float32 rounding
    EXPECT_LE(relative_difference(stats.down.gram, all[layer].down.gram), 1e-5) << layer;
    EXPECT_LE(relative_difference(stats.o.gram, all[layer].o.gram), 1e-5) << layer;
    EXPECT_EQ(all[layer].gate_up.tokens, 3 * 16);
    streamer.advance(layer);
  }
}

TEST(StreamingTest, AdvanceUsesTheCurrentWeightsForSequentialCalibration) {
  lmshrink::set_progress_quiet(true);
  auto model = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  at::Tensor tokens = random_tokens(model->config().vocab_size, 2, 16);
  std::vector<lmshrink::BlockStats> one_shot = lmshrink::collect_all_one_shot(*model, tokens, 2);
  lmshrink::BlockStreamer streamer(*model, tokens, 2);
  streamer.collect(0);
  auto& block0 = model->mutable_blocks()[0];  // "compress" block 0: halve its down projection
  block0.down_proj = std::make_unique<lmshrink::DenseLinear>(block0.down_proj->dense() * 0.5);
  streamer.advance(0);
  lmshrink::BlockStats stats = streamer.collect(1);
  torch::NoGradGuard no_grad;
  at::Tensor hidden1 = model->block_forward(0, model->embed(tokens), 0, nullptr);  // with the new weights
  at::Tensor x = lmshrink::rms_norm(hidden1, model->blocks()[1].attn_norm, model->config().rms_norm_eps)
                     .reshape({-1, model->config().hidden_size})
                     .to(torch::kFloat64);
  EXPECT_LE(relative_difference(stats.qkv.gram, x.t().matmul(x)), 1e-6);
  EXPECT_GT(relative_difference(stats.qkv.gram, one_shot[1].qkv.gram), 1e-3);  // not the one-shot statistics
}

}  // namespace

namespace {

TEST(StreamingTest, SkipStepsOverABlockAsIfItWereDeleted) {
  lmshrink::set_progress_quiet(true);
  auto model = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  at::Tensor tokens = random_tokens(model->config().vocab_size, 3, 16);
  lmshrink::BlockStreamer streamer(*model, tokens, 2);
  streamer.advance(0);
  streamer.skip(1);
  EXPECT_EQ(streamer.next_layer(), 2);
  EXPECT_THROW(streamer.skip(3), lmshrink::Error);  // out of order
  streamer.advance(2);
  torch::NoGradGuard no_grad;
  at::Tensor expected = model->block_forward(2, model->block_forward(0, model->embed(tokens), 0, nullptr), 0, nullptr);
  EXPECT_LE((streamer.hidden() - expected).abs().max().item<double>(), 1e-5);
}

}  // namespace
