// ROCKET's single-step factorization (see rocket.h).
#include "lmshrink/compress/rocket.h"

#include <torch/optim/adam.h>

#include <cmath>

#include "lmshrink/calib/gram.h"
#include "lmshrink/compress/compress_options.h"
#include "lmshrink/compress/compress_result.h"
#include "lmshrink/compress/compot.h"
#include "lmshrink/compress/dict_group.h"
#include "lmshrink/compress/omp.h"
#include "lmshrink/compress/rocket_profile.h"
#include "lmshrink/model/low_rank.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

constexpr double kUnresolved = 1e-7;  // σ_i / σ_1 below which the Gram route cannot resolve a direction

// Eigenvalues (clamped at 0, square-rooted) and eigenvectors of the Gram side `sym`, largest first.
std::pair<at::Tensor, at::Tensor> singular_pairs(const at::Tensor& sym) {
  auto [values, vectors] = at::linalg_eigh((sym + sym.t()).mul_(0.5));  // ascending
  return {values.flip(0).clamp_min(0.0).sqrt(), vectors.flip(1)};
}

// 1 / σ_i for resolved directions, 0 for the others; zeroes σ_i of the others in place.
at::Tensor resolved_inverse(at::Tensor& sigma) {
  double largest = sigma.numel() > 0 ? sigma[0].item<double>() : 0.0;
  at::Tensor resolved = sigma > kUnresolved * largest;
  sigma.mul_(resolved);
  return torch::where(resolved, sigma.reciprocal(), torch::zeros_like(sigma));
}

}  // namespace

RocketBasis rocket_basis(const at::Tensor& whitened_n_m, const at::Tensor& lower_n_n, const at::Tensor& weight_n_m) {
  at::Tensor w = whitened_n_m.to(torch::kFloat64);
  RocketBasis basis;
  basis.energy = w.pow(2).sum().item<double>();
  if (w.size(1) <= w.size(0)) {  // W_Lᵀ W_L = V Σ² Vᵀ, U = W_L V Σ⁻¹, S⁻ᵀ U = W V Σ⁻¹
    auto [sigma, v] = singular_pairs(torch::matmul(w.t(), w));
    at::Tensor inverse = resolved_inverse(sigma).unsqueeze(0);
    basis.u = torch::matmul(w, v).mul_(inverse);
    basis.atom_norms = torch::matmul(weight_n_m.to(torch::kFloat64), v).mul_(inverse).norm(2, {0});
    basis.vh = v.t().contiguous();
    basis.sigma = sigma;
  } else {  // W_L W_Lᵀ = U Σ² Uᵀ, Vᵀ = Σ⁻¹ Uᵀ W_L
    auto [sigma, u] = singular_pairs(torch::matmul(w, w.t()));
    at::Tensor inverse = resolved_inverse(sigma);
    basis.u = u.mul_((inverse > 0).unsqueeze(0));
    basis.vh = torch::matmul(basis.u.t(), w).mul_(inverse.unsqueeze(1));
    basis.atom_norms = at::linalg_solve_triangular(lower_n_n.to(torch::kFloat64).t(), basis.u, /*upper=*/true).norm(2, {0});
    basis.sigma = sigma;
  }
  return basis;
}

at::Tensor rocket_importance(const at::Tensor& coeff_r_m, const at::Tensor& atom_norms_r, double exponent) {
  return coeff_r_m.abs() * atom_norms_r.pow(exponent).unsqueeze(1);
}

at::Tensor rocket_support(const at::Tensor& importance_r_m, const at::Tensor& refill_score_r_m, int64_t s, double oversparsify) {
  int64_t r = importance_r_m.size(0);
  LMSHRINK_CHECK(s >= 1 && s <= r, "rocket: need 1 <= s <= r, got s = ", s, ", r = ", r);
  int64_t first = std::max<int64_t>(1, s - static_cast<int64_t>(std::ceil(oversparsify * static_cast<double>(r))));
  at::Tensor kept = std::get<1>(importance_r_m.topk(first, 0, /*largest=*/true, /*sorted=*/true));  // [first, m]
  at::Tensor rows = kept;
  if (first < s) {  // refill: the best dropped entries by the second score (kept ones masked out with −1)
    at::Tensor score = refill_score_r_m.clone().scatter_(0, kept, -1.0);
    rows = torch::cat({kept, std::get<1>(score.topk(s - first, 0, true, true))}, 0);
  }
  return std::get<0>(rows.sort(0)).contiguous();
}

RidgeFit ridge_fit(const at::Tensor& whitened_n_m, const at::Tensor& sparse_r_m, double energy) {
  int64_t r = sparse_r_m.size(0);
  at::Tensor gram = torch::matmul(sparse_r_m, sparse_r_m.t());  // V Vᵀ [r, r]
  double mu = std::max(1e-6, 1e-3 * gram.trace().item<double>() / static_cast<double>(r));
  gram.diagonal().add_(mu);
  at::Tensor projected = torch::matmul(whitened_n_m, sparse_r_m.t());  // P = W_L Vᵀ [n, r]; D (V Vᵀ + μI) = P
  auto [lower, info] = at::linalg_cholesky_ex(gram);
  at::Tensor d_t = info.item<int64_t>() == 0 ? at::cholesky_solve(projected.t(), lower) : at::linalg_solve(gram, projected.t());
  RidgeFit fit{d_t.t().contiguous(), 0.0};
  double error = energy - (fit.dictionary * projected).sum().item<double>() - mu * fit.dictionary.pow(2).sum().item<double>();
  fit.error = std::isfinite(error) ? std::max(error, 0.0) : error;
  return fit;
}

at::Tensor ridge_dictionary(const at::Tensor& whitened_n_m, const at::Tensor& sparse_r_m) {
  return ridge_fit(whitened_n_m, sparse_r_m, 0.0).dictionary;
}

namespace {

double fit_error(const at::Tensor& w, const at::Tensor& d, const at::Tensor& v) {
  return (w - torch::matmul(d, v)).pow(2).sum().item<double>();
}

// Adam on D and the support's values, loss ‖W_L − D V‖² / ‖W_L‖² (the reference code's adam_refine).
std::pair<at::Tensor, at::Tensor> refine(const at::Tensor& w, const at::Tensor& d, const at::Tensor& rows,
                                         const at::Tensor& values, int64_t steps, double lr) {
  torch::AutoGradMode grad(true);
  at::Tensor dictionary = d.clone().set_requires_grad(true);
  at::Tensor nonzeros = values.clone().set_requires_grad(true);
  torch::optim::Adam adam({dictionary, nonzeros}, torch::optim::AdamOptions(lr));
  double energy = w.pow(2).sum().item<double>() + 1e-12;
  int64_t r = d.size(1);
  for (int64_t step = 0; step < steps; ++step) {
    adam.zero_grad();
    at::Tensor v = torch::zeros({r, w.size(1)}, w.options()).scatter(0, rows, nonzeros);
    at::Tensor loss = (w - torch::matmul(dictionary, v)).pow(2).sum() / energy;
    loss.backward();
    adam.step();
  }
  return {dictionary.detach(), nonzeros.detach()};
}

}  // namespace

RocketFit fit_rocket(const at::Tensor& whitened_n_m, const RocketBasis& basis, const RocketOptions& options) {
  int64_t r = options.atoms, s = options.nonzeros;
  LMSHRINK_CHECK(r >= 1 && r <= basis.u.size(1), "rocket: need 1 <= r <= min(in, out) = ", basis.u.size(1), ", got r = ", r);
  LMSHRINK_CHECK(s >= 1 && s <= r, "rocket: need 1 <= s <= r, got s = ", s, ", r = ", r);
  at::Tensor w = whitened_n_m.to(torch::kFloat64);
  at::Tensor b = basis.u.narrow(1, 0, r);
  at::Tensor c = basis.sigma.narrow(0, 0, r).unsqueeze(1) * basis.vh.narrow(0, 0, r);  // Bᵀ W_L [r, m]
  at::Tensor nu = basis.atom_norms.narrow(0, 0, r);
  at::Tensor rows = rocket_support(rocket_importance(c, nu, options.importance_exponent), rocket_importance(c, nu, 1.0), s,
                                   options.oversparsify);
  at::Tensor values = c.gather(0, rows);
  at::Tensor v = torch::zeros_like(c).scatter_(0, rows, values);
  RocketFit result;
  result.eigenbasis_error = std::max(0.0, basis.energy - values.pow(2).sum().item<double>());  // B orthonormal
  result.chosen = "eigenbasis";
  at::Tensor d = b.contiguous();
  double best = result.eigenbasis_error;
  result.least_squares_error = -1.0;
  if (s < r) {  // with s = r, B is the exact least-squares dictionary and the ridge one can only fit worse
    RidgeFit ridge = ridge_fit(w, v, basis.energy);
    result.least_squares_error = ridge.error;
    if (std::isfinite(ridge.error) && ridge.error < best) d = ridge.dictionary, best = ridge.error, result.chosen = "least-squares";
  }
  if (options.refine_steps > 0) {
    auto [d_refined, values_refined] = refine(w, d, rows, values, options.refine_steps, options.refine_lr);
    result.refined_error = fit_error(w, d_refined, torch::zeros_like(c).scatter_(0, rows, values_refined));
    if (std::isfinite(result.refined_error) && result.refined_error < best) {
      d = d_refined, values = values_refined, best = result.refined_error, result.chosen = "refined";
    }
  }
  result.fit.dictionary = d.contiguous();
  result.fit.code = SparseCode{rows, values.contiguous()};
  result.fit.objective = {best};
  return result;
}

CompressedLayer compress_rocket_layer(std::unique_ptr<Linear>& slot, const std::string& name, const LayerStats* stats,
                                      const RocketCompressOptions& r, const ProfileOption& choice,
                                      const FactorQuantization& quantization) {
  const Linear& layer = *slot;
  CompressedLayer record = layer_record(name, layer, layer, 0.0);
  if (choice.rate == 0.0) {  // the knapsack left this matrix dense
    record.whitened_error = 0.0;
    record.profile_error = 0.0;
    return record;
  }
  LMSHRINK_CHECK(stats, name, ": no calibration statistics for its input");
  stats->check_accumulated(name);
  DictProblem problem = whiten_group({&layer}, {stats->gram});
  RocketOptions rocket{choice.atoms, choice.nonzeros, r.importance_exponent, r.oversparsify, r.refine_steps, r.refine_lr};
  RocketFit fit;
  if (choice.compot) {  // the profile's COMPOT candidate (rocket_profile.h compot_candidates)
    fit.fit = fit_compot(problem.whitened, {choice.atoms, choice.nonzeros, 20, 1e-4});
    fit.chosen = "compot";
  } else {
    fit = fit_rocket(problem.whitened, rocket_basis(problem.whitened, problem.lower, layer.dense().t()), rocket);
  }
  std::unique_ptr<Linear> compressed;
  if (choice.nonzeros == choice.atoms && quantization.bits == 0 && !choice.compot) {
    at::Tensor a = at::linalg_solve_triangular(problem.lower.t(), fit.fit.dictionary, /*upper=*/true);  // S⁻ᵀ D [in, r]
    compressed = std::make_unique<LowRankLinear>(a.to(torch::kFloat32), dense_code(fit.fit.code, choice.atoms).to(torch::kFloat32),
                                                 layer.bias());
  } else {
    compressed = std::move(make_group_layers(problem, fit.fit, {&layer}, {name}, quantization)[0]);
  }
  record = layer_record(name, layer, *compressed, choice.rate);
  if (choice.nonzeros == choice.atoms && quantization.bits == 0 && !choice.compot) record.rank = choice.atoms;
  else record.atoms = choice.atoms, record.nonzeros = choice.nonzeros;
  record.ks = choice.ks;
  record.bits = quantization.bits;
  record.profile_error = choice.error;
  record.rocket_stage = fit.chosen;
  record.gram_shift = problem.gram_shift;
  record.whitened_error = whitened_error(layer, *compressed, stats->gram);
  slot = std::move(compressed);
  return record;
}

}  // namespace lmshrink
