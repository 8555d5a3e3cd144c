// Float64 normal equations and Cholesky solve of the ReplaceMe LS transform (see lstsq_transform.h).
#include "lmshrink/prune/lstsq_transform.h"

#include <torch/torch.h>

#include "lmshrink/util/error.h"

namespace lmshrink {

LstsqAccumulator::LstsqAccumulator(int64_t hidden)
    : hidden_(hidden),
      mtm_(torch::zeros({hidden, hidden}, torch::kFloat64)),
      mtr_(torch::zeros({hidden, hidden}, torch::kFloat64)) {}

void LstsqAccumulator::add(const at::Tensor& m, const at::Tensor& r) {
  LMSHRINK_CHECK(m.dim() == 2 && m.size(1) == hidden_ && r.sizes() == m.sizes(), "lstsq transform: expected M and R [",
                 "tokens, ", hidden_, "], got ", m.sizes(), " and ", r.sizes());
  torch::NoGradGuard no_grad;
  const int64_t chunk = 65536;  // rows converted to float64 at a time
  for (int64_t row = 0; row < m.size(0); row += chunk) {
    int64_t count = std::min(chunk, m.size(0) - row);
    at::Tensor m64 = m.narrow(0, row, count).to(torch::kCPU, torch::kFloat64);  // [count, hidden]
    at::Tensor r64 = r.narrow(0, row, count).to(torch::kCPU, torch::kFloat64);
    mtm_.addmm_(m64.t(), m64);
    mtr_.addmm_(m64.t(), r64);
  }
  tokens_ += m.size(0);
}

int64_t lstsq_min_tokens(int64_t hidden) { return hidden; }

at::Tensor solve_lstsq_transform(const LstsqAccumulator& normal_equations, double ridge) {
  int64_t hidden = normal_equations.hidden();
  LMSHRINK_CHECK(ridge >= 0, "prune.ridge must be non-negative, got ", ridge);
  LMSHRINK_CHECK(ridge > 0 || normal_equations.tokens() >= lstsq_min_tokens(hidden), "calibration: ",
                 normal_equations.tokens(), " tokens are too few for the ", hidden, " x ", hidden,
                 " least-squares system: need at least ", lstsq_min_tokens(hidden),
                 " (hidden_size) tokens, about hidden^2 = ", hidden * hidden, " recommended; raise calib.n_samples or "
                 "calib.seq_len, or give prune.ridge");
  torch::NoGradGuard no_grad;
  at::Tensor system = normal_equations.mtm() + ridge * torch::eye(hidden, torch::kFloat64);  // [hidden, hidden]
  auto [lower, info] = torch::linalg_cholesky_ex(system);
  LMSHRINK_CHECK(info.item<int64_t>() == 0, "lstsq transform: M^T M", ridge > 0 ? " + ridge I" : "",
                 " is not positive definite (the MLP outputs of the kept block span fewer than ", hidden,
                 " dimensions over ", normal_equations.tokens(), " tokens); give prune.ridge (e.g. 1e-6 x its trace / ",
                 hidden, " = ", 1e-6 * normal_equations.mtm().trace().item<double>() / hidden, ")");
  // A pivot L_ii^2 bounds the smallest eigenvalue from above: a tiny one means M spans fewer dimensions.
  at::Tensor pivots = lower.diagonal().pow(2);
  double smallest = pivots.min().item<double>(), largest = pivots.max().item<double>();
  LMSHRINK_CHECK(smallest > 1e-12 * largest, "lstsq transform: M^T M", ridge > 0 ? " + ridge I" : "",
                 " is numerically singular (smallest Cholesky pivot ", smallest, ", largest ", largest,
                 "): the MLP outputs of the kept block span fewer than ", hidden, " dimensions; give prune.ridge");
  return torch::cholesky_solve(normal_equations.mtr(), lower);  // [hidden, hidden]
}

}  // namespace lmshrink
