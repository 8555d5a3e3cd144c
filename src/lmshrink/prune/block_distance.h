// Similarity of residual-stream states some blocks apart: the statistics that depth pruning selects
// blocks by (ALGORITHMS.md §1.7 and §6.1).
//   UIDL (Gromov et al. 2403.17887, §3.2) and ReplaceMe §3.1 (mts-ai/ReplaceMe distance.py):
//     d_l(n) = mean over samples of arccos(clamp(cos(h_l[t*], h_{l+n}[t*]), -1, 1)) / pi,
//     h_l = output of decoder layer l (0-based), l = 0 .. N-1-n, t* = the last token of a sample.
//   ShortGPT (Men et al. 2403.03853, eq. 2), Block Influence of layer i = 0 .. N-1:
//     BI_i = 1 - mean over tokens of cos(x_i, x_{i+1}), x_i = the state entering layer i.
// Token choice: kLast uses the last token of each sample (the reference behaviour: its last
// non-padding token; lmshrink's calibration samples are unpadded fixed-length blocks, so that is
// position seq_len - 1), kAll averages over every token of every sample.
// The last layer's output (final-norm edge case, ALGORITHMS.md §6): every state here is the residual
// stream BEFORE the final norm, the output of layer N-1 included. HF's hidden_states[-1] is
// post-norm, so the reference compares a pre-norm h_l with a post-norm h_{N-1} for windows ending at
// the last layer; we compare like with like.
// States come from BlockStreamer (calib/streaming.h). Memory: the streamer's [n, seq, hidden] plus
// the last gap + 1 selected states ([n, hidden] each for kLast, [n * seq, hidden] for kAll).
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lmshrink/model/transformer.h"

namespace lmshrink {

enum class DistanceTokens { kLast, kAll };

// "last" or "all" (field prune.distance_tokens); anything else is an Error naming the field.
DistanceTokens parse_distance_tokens(const std::string& name);
const char* distance_tokens_name(DistanceTokens tokens);

// Means over the chosen tokens of cos(s_j, s_{j+gap}) and of arccos(cos)/pi, for j = 0 .. N - gap,
// where s_0 = the embeddings and s_{j+1} = the output of layer j (pre-final-norm).
struct StatePairSimilarity {
  std::vector<double> mean_cosine;   // [N - gap + 1]
  std::vector<double> mean_angular;  // [N - gap + 1], in [0, 1]
};

// calib_tokens: int64 [n_samples, seq]; gap in [1, N].
StatePairSimilarity state_pair_similarity(const Transformer& model, const at::Tensor& calib_tokens, int64_t gap,
                                          DistanceTokens tokens, int64_t batch_size);

// UIDL / ReplaceMe angular distances d_l(blocks), l = 0 .. N-1-blocks (window l removes blocks
// l+1 .. l+blocks). blocks in [1, N-1].
std::vector<double> angular_distances(const Transformer& model, const at::Tensor& calib_tokens, int64_t blocks,
                                      DistanceTokens tokens, int64_t batch_size);

// ShortGPT Block Influence BI_i, i = 0 .. N-1.
std::vector<double> block_influence(const Transformer& model, const at::Tensor& calib_tokens, DistanceTokens tokens,
                                    int64_t batch_size);

}  // namespace lmshrink
