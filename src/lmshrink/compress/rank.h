// Parameter accounting for low-rank factorization (ALGORITHMS.md §0, §1.1, §8.6): the compression
// ratio γ is the fraction of parameters removed; a d_in × d_out matrix kept at rank r costs
// r (d_in + d_out), and the rank for γ is r = floor((1 − γ) d_in d_out / (d_in + d_out))
// (SVD-LLM's int(m n ratio / (m + n)) with ratio = kept fraction; CoSpaDi eq. 48).
#pragma once
#include <cstdint>
#include <string>

namespace lmshrink {

// Throws lmshrink::Error when ratio is outside (0, 1) or the rank rounds to 0 (naming `what`).
int64_t low_rank_for_ratio(int64_t d_in, int64_t d_out, double ratio, const std::string& what);
int64_t low_rank_params(int64_t d_in, int64_t d_out, int64_t rank);

}  // namespace lmshrink
