// SVD-LLM truncation-aware whitening through the eigendecomposition of the smaller side (see svd_llm.h).
#include "lmshrink/compress/svd_llm.h"

#include "lmshrink/util/error.h"

namespace lmshrink {
namespace {

constexpr double kEpsilon = 1e-6;  // SVD-LLM's shift

struct TopEigen {
  at::Tensor sigma;     // [r] singular values of the whitened weight, largest first, floored above 0
  at::Tensor vectors;   // [n, r]
  double discarded = 0.0;  // Σ of the other eigenvalues (σ²), negatives from rounding counted as 0
  double kept_min_relative = 0.0;  // σ_r² / σ_1²
};

// Top `rank` eigenpairs of the symmetric positive semi-definite `sym` [n, n], largest first.
TopEigen top_eigen(const at::Tensor& sym, int64_t rank) {
  auto [values, vectors] = at::linalg_eigh(sym);  // ascending
  int64_t n = values.size(0);
  at::Tensor kept = values.narrow(0, n - rank, rank).flip(0).clamp_min(0.0);
  TopEigen top;
  top.vectors = vectors.narrow(1, n - rank, rank).flip(1);
  top.discarded = values.narrow(0, 0, n - rank).clamp_min(0.0).sum().item<double>();
  double largest = kept[0].item<double>();
  top.kept_min_relative = largest > 0 ? kept[rank - 1].item<double>() / largest : 0.0;
  // A null direction of X W (σ = 0) still gets finite factors: σ floored at 1e-12 σ_1.
  top.sigma = kept.sqrt().clamp_min(1e-12 * std::max(std::sqrt(largest), 1e-300));
  return top;
}

SvdLlmResult make_result(at::Tensor a_in_rank, at::Tensor b_rank_out, const at::Tensor& bias) {
  LMSHRINK_CHECK(torch::isfinite(a_in_rank).all().item<bool>() && torch::isfinite(b_rank_out).all().item<bool>(),
                 "svd-llm: non-finite factors (degenerate Gram matrix)");
  SvdLlmResult result;
  result.layer = std::make_unique<LowRankLinear>(a_in_rank.to(torch::kFloat32).contiguous(),
                                                 b_rank_out.to(torch::kFloat32).contiguous(), bias);
  return result;
}

// out ≤ in: eigenvectors of Wᵀ G W, A = W V_r Σ_r^-½, B = Σ_r^½ V_rᵀ.
SvdLlmResult output_side(const at::Tensor& w_in_out, const at::Tensor& gram, int64_t rank, const at::Tensor& bias) {
  at::Tensor g_w = torch::matmul(gram, w_in_out);
  double whitened_norm2 = (g_w * w_in_out).sum().item<double>();
  at::Tensor m = torch::matmul(w_in_out.t(), g_w);
  g_w.reset();
  m = (m + m.t()).mul_(0.5);
  TopEigen top = top_eigen(m, rank);
  double shift = 0.0;
  if (top.kept_min_relative <= 1e-10) {  // X W has fewer than r directions: choose the rest on Wᵀ (G + εI) W
    shift = kEpsilon;
    m.add_(torch::matmul(w_in_out.t(), w_in_out), shift);
    top = top_eigen(m, rank);
  }
  SvdLlmResult result = make_result(torch::matmul(w_in_out, top.vectors) * top.sigma.rsqrt().unsqueeze(0),
                                    top.sigma.sqrt().unsqueeze(1) * top.vectors.t(), bias);
  result.gram_shift = shift;
  result.truncation_loss = top.discarded;
  result.whitened_norm2 = whitened_norm2;
  return result;
}

// in < out: K = Sᵀ W, eigenvectors of K Kᵀ, A = S⁻ᵀ U_r Σ_r^½, B = Σ_r^-½ U_rᵀ K.
SvdLlmResult input_side(const at::Tensor& w_in_out, const at::Tensor& gram, int64_t rank, const at::Tensor& bias) {
  Whitening whitening = cholesky_whitening(gram, kEpsilon);
  at::Tensor k = torch::matmul(whitening.lower.t(), w_in_out);
  at::Tensor kkt = torch::matmul(k, k.t());
  TopEigen top = top_eigen((kkt + kkt.t()).mul_(0.5), rank);
  at::Tensor a_whitened = top.vectors * top.sigma.sqrt().unsqueeze(0);  // Sᵀ A
  at::Tensor a_in_rank = at::linalg_solve_triangular(whitening.lower.t(), a_whitened, /*upper=*/true);
  at::Tensor b_rank_out = top.sigma.rsqrt().unsqueeze(1) * torch::matmul(top.vectors.t(), k);
  SvdLlmResult result = make_result(a_in_rank, b_rank_out, bias);
  result.gram_shift = whitening.shift;
  result.truncation_loss = top.discarded;
  return result;
}

}  // namespace

SvdLlmResult compress_svd_llm(const Linear& layer, const at::Tensor& gram_in_in, int64_t rank) {
  at::Tensor w_in_out = layer.dense().t().to(torch::kFloat64);
  int64_t in = w_in_out.size(0), out = w_in_out.size(1);
  LMSHRINK_CHECK(gram_in_in.dim() == 2 && gram_in_in.size(0) == in && gram_in_in.size(1) == in, "svd-llm: Gram matrix is ",
                 gram_in_in.size(0), " x ", gram_in_in.size(1), " but the layer has ", in, " inputs");
  LMSHRINK_CHECK(rank >= 1 && rank <= std::min(in, out), "svd-llm: rank ", rank, " outside [1, ", std::min(in, out), "]");
  at::Tensor gram = gram_in_in.to(torch::kFloat64);
  LMSHRINK_CHECK(torch::isfinite(gram).all().item<bool>(), "svd-llm: Gram matrix has NaN or Inf entries");
  return out <= in ? output_side(w_in_out, gram, rank, layer.bias()) : input_side(w_in_out, gram, rank, layer.bias());
}

}  // namespace lmshrink
