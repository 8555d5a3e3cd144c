// ReplaceMe cosine transform (paper eqs. 7-8, approximate form; mts-ai/ReplaceMe cosine_dist.py and
// utils.py adam_method; ALGORITHMS.md §6.2):
//   min_T mean_k [1 - cos(M_k T, R_k)] + l1 ||T||_1 + l2 ||T||_F^2,
// M, R as in lstsq_transform.h (rows = tokens). T [hidden, hidden] in float32, initialised to the
// identity, trained by Adam (lr 1e-4) on mini-batches of 1024 tokens, 10 epochs, each epoch a fresh
// permutation drawn from a torch CPU generator seeded with `seed`. The paper's regularisers are L1
// (alpha 1e-4) or L2 (alpha 0.01) on T; both default to 0 here (the reference's "elasticnet", which
// penalises the output M T instead, is not implemented). Returns T in float64.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace lmshrink {

struct CosineOptions {
  int64_t epochs = 10;
  double lr = 1e-4;
  int64_t batch_tokens = 1024;
  uint64_t seed = 0;
  double l1 = 0.0;  // weight of sum |T_ij|
  double l2 = 0.0;  // weight of sum T_ij^2
};

struct CosineFit {
  at::Tensor transform;             // [hidden, hidden] float64
  std::vector<double> epoch_loss;   // objective over all tokens: [0] at the identity, [e] after epoch e
};

// The objective (cosine term plus penalties) over all rows, for T [hidden, hidden]; computed in float64.
double cosine_objective(const at::Tensor& m, const at::Tensor& r, const at::Tensor& transform, double l1, double l2);

// m, r: [tokens, hidden] float32 (any device). Throws an Error on bad shapes or options.
CosineFit fit_cosine_transform(const at::Tensor& m, const at::Tensor& r, const CosineOptions& options);

}  // namespace lmshrink
