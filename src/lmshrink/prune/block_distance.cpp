// Angular distances and Block Influence from streamed hidden states (see block_distance.h).
#include "lmshrink/prune/block_distance.h"

#include <deque>
#include <utility>

#include "lmshrink/calib/streaming.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

// The rows a state contributes: [n, hidden] last tokens, or [n * seq, hidden] all tokens (float64).
at::Tensor selected_rows(const at::Tensor& hidden, DistanceTokens tokens) {  // hidden [n, seq, hidden]
  if (tokens == DistanceTokens::kLast) return hidden.select(1, hidden.size(1) - 1).to(torch::kFloat64);
  return hidden.reshape({-1, hidden.size(2)}).to(torch::kFloat64);
}

// Row-wise cosine of two [rows, hidden] float64 tensors; a zero row gives cosine 0.
at::Tensor row_cosine(const at::Tensor& a, const at::Tensor& b) {
  at::Tensor norms = a.norm(2, 1) * b.norm(2, 1);
  return ((a * b).sum(1) / norms.clamp_min(1e-300)).clamp(-1.0, 1.0);
}

}  // namespace

DistanceTokens parse_distance_tokens(const std::string& name) {
  if (name == "last") return DistanceTokens::kLast;
  if (name == "all") return DistanceTokens::kAll;
  fail("prune.distance_tokens: expected last or all, got '", name, "'");
}

const char* distance_tokens_name(DistanceTokens tokens) { return tokens == DistanceTokens::kLast ? "last" : "all"; }

StatePairSimilarity state_pair_similarity(const Transformer& model, const at::Tensor& calib_tokens, int64_t gap,
                                          DistanceTokens tokens, int64_t batch_size) {
  int64_t num_layers = model.config().num_layers;
  LMSHRINK_CHECK(gap >= 1 && gap <= num_layers, "block distance: gap ", gap, " outside [1, ", num_layers, "]");
  torch::NoGradGuard no_grad;
  BlockStreamer streamer(model, calib_tokens, batch_size);
  StatePairSimilarity result;
  std::deque<at::Tensor> window;  // the selected rows of s_{j} .. s_{j+gap}, oldest first
  window.push_back(selected_rows(streamer.hidden(), tokens));
  for (int64_t layer = 0; layer < num_layers; ++layer) {
    streamer.advance(layer);
    window.push_back(selected_rows(streamer.hidden(), tokens));
    if (static_cast<int64_t>(window.size()) < gap + 1) continue;
    at::Tensor cosine = row_cosine(window.front(), window.back());  // [rows]
    result.mean_cosine.push_back(cosine.mean().item<double>());
    result.mean_angular.push_back((cosine.acos() / M_PI).mean().item<double>());
    window.pop_front();
  }
  return result;
}

std::vector<double> angular_distances(const Transformer& model, const at::Tensor& calib_tokens, int64_t blocks,
                                      DistanceTokens tokens, int64_t batch_size) {
  int64_t num_layers = model.config().num_layers;
  LMSHRINK_CHECK(blocks >= 1 && blocks < num_layers, "prune.blocks ", blocks, ": expected 1 .. ", num_layers - 1,
                 " (the model has ", num_layers, " layers)");
  StatePairSimilarity pairs = state_pair_similarity(model, calib_tokens, blocks, tokens, batch_size);
  // d_l compares h_l = s_{l+1} with h_{l+blocks} = s_{l+1+blocks}: pair j = l + 1.
  return std::vector<double>(pairs.mean_angular.begin() + 1, pairs.mean_angular.end());
}

std::vector<double> block_influence(const Transformer& model, const at::Tensor& calib_tokens, DistanceTokens tokens,
                                    int64_t batch_size) {
  StatePairSimilarity pairs = state_pair_similarity(model, calib_tokens, 1, tokens, batch_size);
  std::vector<double> influence;
  for (double cosine : pairs.mean_cosine) influence.push_back(1.0 - cosine);
  return influence;
}

}  // namespace lmshrink
