// COMPOT's alternating closed-form fit (see compot.h).
#include "lmshrink/compress/compot.h"

#include "lmshrink/util/error.h"

namespace lmshrink {

SparseCode hard_threshold_code(const at::Tensor& orthonormal_n_k, const at::Tensor& whitened_n_m, int64_t s) {
  at::Tensor c = torch::matmul(orthonormal_n_k.t(), whitened_n_m);  // Dᵀ W_L [k, m]
  at::Tensor rows = std::get<1>(c.abs().topk(s, /*dim=*/0, /*largest=*/true, /*sorted=*/true));
  return {rows, c.gather(0, rows)};
}

namespace {

// D = P Qᵀ and the nuclear norm Σσ of W_L Sᵀ (= tr(Dᵀ W_L Sᵀ) at the optimum).
std::pair<at::Tensor, double> procrustes(const at::Tensor& whitened_n_m, const SparseCode& code, int64_t k) {
  at::Tensor m = torch::matmul(whitened_n_m, dense_code(code, k).t());  // W_L Sᵀ [n, k]
  auto [p, sigma, qh] = at::linalg_svd(m, /*full_matrices=*/false);
  return {torch::matmul(p, qh), sigma.sum().item<double>()};
}

double objective(const at::Tensor& w, const at::Tensor& d, const SparseCode& code) {
  return (w - torch::matmul(d, dense_code(code, d.size(1)))).pow(2).sum().item<double>();
}

}  // namespace

at::Tensor procrustes_dictionary(const at::Tensor& whitened_n_m, const SparseCode& code, int64_t k) {
  return procrustes(whitened_n_m, code, k).first;
}

DictFit fit_compot(const at::Tensor& whitened_n_m, const CompotOptions& options) {
  int64_t n = whitened_n_m.size(0), k = options.atoms, s = options.nonzeros;
  LMSHRINK_CHECK(k >= 1 && k <= n, "compot: the orthonormal dictionary needs 1 <= k <= in = ", n, ", got k = ", k);
  LMSHRINK_CHECK(s >= 1 && s <= k, "compot: need 1 <= s <= k, got k = ", k, ", s = ", s);
  LMSHRINK_CHECK(options.max_iterations >= 0 && options.tolerance >= 0, "compot: iterations and tolerance must be >= 0");
  at::Tensor w = whitened_n_m.to(torch::kFloat64).contiguous();
  auto [u, sigma, vh] = at::linalg_svd(w, /*full_matrices=*/false);
  DictFit fit;
  if (u.size(1) >= k) {
    fit.dictionary = u.narrow(1, 0, k).contiguous();
  } else {  // fewer columns than atoms: complete the basis (QR of [U, I])
    fit.dictionary = std::get<0>(at::linalg_qr(torch::cat({u, torch::eye(n, w.options())}, 1))).narrow(1, 0, k).contiguous();
  }
  // Closed forms for orthonormal D: ‖W − DS‖² = ‖W‖² − 2 tr(Sᵀ Dᵀ W) + ‖S‖², which is ‖W‖² − ‖S‖² after
  // hard thresholding (S = H_s(DᵀW)) and ‖W‖² − 2 Σσ(W Sᵀ) + ‖S‖² after the Procrustes step.
  double energy = w.pow(2).sum().item<double>();
  fit.code = hard_threshold_code(fit.dictionary, w, s);
  double current = energy - fit.code.values.pow(2).sum().item<double>();
  fit.objective.push_back(current);
  for (int64_t iteration = 0; iteration < options.max_iterations; ++iteration) {
    auto [dictionary, nuclear] = procrustes(w, fit.code, k);
    fit.objective.push_back(energy - 2 * nuclear + fit.code.values.pow(2).sum().item<double>());
    SparseCode code = hard_threshold_code(dictionary, w, s);
    double next = energy - code.values.pow(2).sum().item<double>();
    fit.objective.push_back(next);
    if (next > current) {  // rounding only: keep the better, earlier pair and its history
      fit.objective.resize(fit.objective.size() - 2);
      break;
    }
    fit.dictionary = dictionary;
    fit.code = code;
    bool converged = current - next <= options.tolerance * current;
    current = next;
    if (converged) break;
  }
  fit.objective.back() = objective(w, fit.dictionary, fit.code);  // the final value computed directly
  return fit;
}

}  // namespace lmshrink
