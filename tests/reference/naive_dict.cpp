// Straightforward float64 reference for OMP, K-SVD and the COMPOT steps (see naive_dict.h). A test and
// benchmark reference, not product code: plain loops over columns and atoms, nothing cached or batched.
// Sources: Pati et al. 1993 (OMP); Aharon, Elad, Bruckstein 2006 (K-SVD); ALGORITHMS.md §2 and §4.
#include "reference/naive_dict.h"

#include <ATen/ATen.h>

#include <cmath>
#include <tuple>

namespace lmshrink::reference {

namespace {

void check_matrix(const char* function, const char* name, const at::Tensor& tensor) {
  TORCH_CHECK(tensor.defined(), function, ": ", name, " is undefined");
  TORCH_CHECK(tensor.dim() == 2 && tensor.scalar_type() == at::kDouble && tensor.device().is_cpu(), function, ": ",
              name, ": expected a 2-D float64 CPU tensor, got sizes ", tensor.sizes(), ", dtype ",
              tensor.scalar_type(), ", device ", tensor.device());
}

void check_sparsity(const char* function, int64_t s, int64_t k) {
  TORCH_CHECK(s >= 1 && s <= k, function, ": sparsity s = ", s, " outside [1, k = ", k, "]");
}

void check_unit_columns(const char* function, const at::Tensor& dictionary) {
  for (int64_t i = 0; i < dictionary.size(1); ++i) {
    double norm = dictionary.select(1, i).norm().item<double>();
    TORCH_CHECK(std::abs(norm - 1.0) <= 1e-6, function, ": dictionary column ", i, " has norm ", norm,
                ", expected unit-norm atoms");
  }
}

void check_orthonormal(const char* function, const at::Tensor& dictionary) {
  int64_t k = dictionary.size(1);
  TORCH_CHECK(k <= dictionary.size(0), function, ": orthonormal dictionary needs k <= n, got [", dictionary.size(0),
              ", ", k, "]");
  at::Tensor gram_k_k = at::matmul(dictionary.t(), dictionary);
  double deviation = (gram_k_k - at::eye(k, dictionary.options())).abs().max().item<double>();
  TORCH_CHECK(deviation <= 1e-8, function, ": dictionary is not orthonormal, max |DᵀD − I| = ", deviation);
}

at::Tensor index_tensor(const std::vector<int64_t>& indices) {
  return at::tensor(indices, at::TensorOptions().dtype(at::kLong));
}

// x [t] minimising ‖target − atoms x‖₂ for atoms [n, t], target [n]; SVD-based (gelsd), so a
// rank-deficient set of atoms gives the minimum-norm solution.
at::Tensor least_squares(const at::Tensor& atoms_n_t, const at::Tensor& target_n) {
  at::Tensor solution = std::get<0>(at::linalg_lstsq(atoms_n_t, target_n.unsqueeze(1), c10::nullopt, "gelsd"));
  return solution.narrow(0, 0, atoms_n_t.size(1)).squeeze(1);  // [t]
}

}  // namespace

NaiveCode naive_omp(const at::Tensor& dictionary, const at::Tensor& targets, int64_t s) {
  check_matrix("naive_omp", "dictionary", dictionary);
  check_matrix("naive_omp", "targets", targets);
  int64_t n = dictionary.size(0);
  int64_t k = dictionary.size(1);
  int64_t m = targets.size(1);
  TORCH_CHECK(targets.size(0) == n, "naive_omp: targets have ", targets.size(0), " rows, dictionary has ", n);
  check_sparsity("naive_omp", s, k);
  check_unit_columns("naive_omp", dictionary);

  at::Tensor atoms_n_k = dictionary.contiguous();
  auto d = atoms_n_k.accessor<double, 2>();
  NaiveCode code;
  code.rows = at::zeros({s, m}, at::TensorOptions().dtype(at::kLong));
  code.values = at::zeros({s, m}, at::TensorOptions().dtype(at::kDouble));
  auto rows = code.rows.accessor<int64_t, 2>();
  auto values = code.values.accessor<double, 2>();

  for (int64_t j = 0; j < m; ++j) {
    at::Tensor target = targets.select(1, j).contiguous();  // [n]
    at::Tensor residual = target.clone();                   // [n]
    at::Tensor coefficients;                                // [chosen]
    std::vector<int64_t> chosen;
    std::vector<bool> used(k, false);
    for (int64_t step = 0; step < s; ++step) {
      // Correlation |d_iᵀ r| of every unused atom; strict > keeps the lowest index on ties.
      auto r = residual.accessor<double, 1>();
      int64_t best_atom = -1;
      double best_correlation = -1.0;
      for (int64_t i = 0; i < k; ++i) {
        if (used[i]) continue;
        double dot = 0.0;
        for (int64_t row = 0; row < n; ++row) dot += d[row][i] * r[row];
        if (std::abs(dot) > best_correlation) {
          best_correlation = std::abs(dot);
          best_atom = i;
        }
      }
      chosen.push_back(best_atom);
      used[best_atom] = true;
      // Refit every chosen coefficient from scratch, then recompute the residual from scratch.
      at::Tensor chosen_atoms = dictionary.index_select(1, index_tensor(chosen));  // [n, step + 1]
      coefficients = least_squares(chosen_atoms, target);
      residual = (target - at::mv(chosen_atoms, coefficients)).contiguous();
    }
    auto x = coefficients.accessor<double, 1>();
    for (int64_t t = 0; t < s; ++t) {
      rows[t][j] = chosen[t];
      values[t][j] = x[t];
    }
  }
  return code;
}

at::Tensor dense_coefficients(const NaiveCode& code, int64_t k) {
  TORCH_CHECK(code.rows.defined() && code.rows.dim() == 2 && code.rows.scalar_type() == at::kLong,
              "dense_coefficients: rows: expected a 2-D int64 tensor");
  check_matrix("dense_coefficients", "values", code.values);
  TORCH_CHECK(code.rows.sizes() == code.values.sizes(), "dense_coefficients: rows ", code.rows.sizes(),
              " and values ", code.values.sizes(), " differ in shape");
  int64_t s = code.rows.size(0);
  int64_t m = code.rows.size(1);
  at::Tensor dense_k_m = at::zeros({k, m}, at::TensorOptions().dtype(at::kDouble));
  auto dense = dense_k_m.accessor<double, 2>();
  auto rows = code.rows.accessor<int64_t, 2>();
  auto values = code.values.accessor<double, 2>();
  for (int64_t j = 0; j < m; ++j) {
    for (int64_t t = 0; t < s; ++t) {
      int64_t atom = rows[t][j];
      TORCH_CHECK(atom >= 0 && atom < k, "dense_coefficients: column ", j, " uses atom ", atom, ", outside [0, ", k,
                  ")");
      dense[atom][j] = values[t][j];
    }
  }
  return dense_k_m;
}

double squared_error(const at::Tensor& dictionary, const at::Tensor& coefficients_k_m, const at::Tensor& targets) {
  check_matrix("squared_error", "dictionary", dictionary);
  check_matrix("squared_error", "coefficients", coefficients_k_m);
  check_matrix("squared_error", "targets", targets);
  TORCH_CHECK(coefficients_k_m.size(0) == dictionary.size(1) && targets.size(0) == dictionary.size(0) &&
                  targets.size(1) == coefficients_k_m.size(1),
              "squared_error: shapes do not chain: dictionary ", dictionary.sizes(), ", coefficients ",
              coefficients_k_m.sizes(), ", targets ", targets.sizes());
  return (targets - at::matmul(dictionary, coefficients_k_m)).pow(2).sum().item<double>();
}

at::Tensor brute_force_best_subset(const at::Tensor& dictionary, const at::Tensor& targets, int64_t s) {
  check_matrix("brute_force_best_subset", "dictionary", dictionary);
  check_matrix("brute_force_best_subset", "targets", targets);
  int64_t k = dictionary.size(1);
  int64_t m = targets.size(1);
  TORCH_CHECK(targets.size(0) == dictionary.size(0), "brute_force_best_subset: targets have ", targets.size(0),
              " rows, dictionary has ", dictionary.size(0));
  check_sparsity("brute_force_best_subset", s, k);
  double subsets = 1.0;
  for (int64_t t = 0; t < s; ++t) subsets = subsets * static_cast<double>(k - t) / static_cast<double>(t + 1);
  TORCH_CHECK(subsets <= 1e5, "brute_force_best_subset: C(", k, ", ", s, ") = ", subsets,
              " supports is too many; this reference is for tiny k");

  at::Tensor dense_k_m = at::zeros({k, m}, at::TensorOptions().dtype(at::kDouble));
  auto dense = dense_k_m.accessor<double, 2>();
  for (int64_t j = 0; j < m; ++j) {
    at::Tensor target = targets.select(1, j);  // [n]
    double best_error = INFINITY;
    std::vector<int64_t> best_support;
    at::Tensor best_coefficients;
    std::vector<int64_t> support(s);
    for (int64_t t = 0; t < s; ++t) support[t] = t;
    while (true) {
      at::Tensor atoms = dictionary.index_select(1, index_tensor(support));  // [n, s]
      at::Tensor coefficients = least_squares(atoms, target);
      double error = (target - at::mv(atoms, coefficients)).pow(2).sum().item<double>();
      if (error < best_error) {
        best_error = error;
        best_support = support;
        best_coefficients = coefficients;
      }
      // Next support in lexicographic order.
      int64_t p = s - 1;
      while (p >= 0 && support[p] == k - s + p) --p;
      if (p < 0) break;
      ++support[p];
      for (int64_t q = p + 1; q < s; ++q) support[q] = support[q - 1] + 1;
    }
    auto x = best_coefficients.accessor<double, 1>();
    for (int64_t t = 0; t < s; ++t) dense[best_support[t]][j] = x[t];
  }
  return dense_k_m;
}

void naive_ksvd_update(at::Tensor& dictionary, at::Tensor& coefficients_k_m, const at::Tensor& targets) {
  check_matrix("naive_ksvd_update", "dictionary", dictionary);
  check_matrix("naive_ksvd_update", "coefficients", coefficients_k_m);
  check_matrix("naive_ksvd_update", "targets", targets);
  int64_t k = dictionary.size(1);
  int64_t m = targets.size(1);
  TORCH_CHECK(coefficients_k_m.size(0) == k && coefficients_k_m.size(1) == m && targets.size(0) == dictionary.size(0),
              "naive_ksvd_update: shapes do not chain: dictionary ", dictionary.sizes(), ", coefficients ",
              coefficients_k_m.sizes(), ", targets ", targets.sizes());

  for (int64_t i = 0; i < k; ++i) {
    // Omega_i: the columns that use atom i.
    auto coefficients = coefficients_k_m.accessor<double, 2>();
    std::vector<int64_t> omega;
    for (int64_t j = 0; j < m; ++j) {
      if (coefficients[i][j] != 0.0) omega.push_back(j);
    }
    if (omega.empty()) continue;
    at::Tensor omega_index = index_tensor(omega);

    // R = W[:, Omega] − Σ_{l≠i} d_l S[l, Omega], from scratch.
    at::Tensor residual = targets.index_select(1, omega_index);  // [n, |Omega|], a copy
    for (int64_t l = 0; l < k; ++l) {
      if (l == i) continue;
      residual -= at::outer(dictionary.select(1, l), coefficients_k_m.select(0, l).index_select(0, omega_index));
    }

    // Exact best rank-1 approximation (a complete SVD, not power iterations).
    auto [u, sigma, vh] = at::linalg_svd(residual, /*full_matrices=*/false);
    at::Tensor atom = u.select(1, 0).clone();                      // [n]
    at::Tensor row = vh.select(0, 0) * sigma[0].item<double>();  // [|Omega|]
    if (at::dot(atom, dictionary.select(1, i)).item<double>() < 0.0) {
      atom = -atom;
      row = -row;
    }
    dictionary.select(1, i).copy_(atom);
    coefficients_k_m.select(0, i).index_copy_(0, omega_index, row);
  }
}

at::Tensor naive_ksvd(at::Tensor& dictionary, const at::Tensor& targets, int64_t s, int64_t iterations,
                      std::vector<double>* objective_history) {
  check_matrix("naive_ksvd", "dictionary", dictionary);
  check_matrix("naive_ksvd", "targets", targets);
  TORCH_CHECK(iterations >= 1, "naive_ksvd: iterations = ", iterations, ", expected >= 1");
  int64_t k = dictionary.size(1);
  at::Tensor current_n_k = dictionary.clone();
  for (int64_t i = 0; i < k; ++i) {
    double norm = current_n_k.select(1, i).norm().item<double>();
    TORCH_CHECK(norm > 0.0, "naive_ksvd: initial dictionary column ", i, " is zero");
    current_n_k.select(1, i).div_(norm);
  }
  dictionary = current_n_k;

  at::Tensor coefficients_k_m;
  for (int64_t iteration = 0; iteration < iterations; ++iteration) {
    coefficients_k_m = dense_coefficients(naive_omp(dictionary, targets, s), k);
    naive_ksvd_update(dictionary, coefficients_k_m, targets);
    if (objective_history != nullptr) {
      objective_history->push_back(squared_error(dictionary, coefficients_k_m, targets));
    }
  }
  return coefficients_k_m;
}

at::Tensor naive_hard_threshold(const at::Tensor& orthonormal_dictionary, const at::Tensor& targets, int64_t s) {
  check_matrix("naive_hard_threshold", "dictionary", orthonormal_dictionary);
  check_matrix("naive_hard_threshold", "targets", targets);
  int64_t k = orthonormal_dictionary.size(1);
  int64_t m = targets.size(1);
  TORCH_CHECK(targets.size(0) == orthonormal_dictionary.size(0), "naive_hard_threshold: targets have ",
              targets.size(0), " rows, dictionary has ", orthonormal_dictionary.size(0));
  check_sparsity("naive_hard_threshold", s, k);
  check_orthonormal("naive_hard_threshold", orthonormal_dictionary);

  at::Tensor projection_k_m = at::matmul(orthonormal_dictionary.t(), targets).contiguous();  // C = DᵀW
  auto c = projection_k_m.accessor<double, 2>();
  at::Tensor dense_k_m = at::zeros({k, m}, at::TensorOptions().dtype(at::kDouble));
  auto dense = dense_k_m.accessor<double, 2>();
  for (int64_t j = 0; j < m; ++j) {
    std::vector<bool> kept(k, false);
    for (int64_t t = 0; t < s; ++t) {
      // The largest remaining |C[i, j]|; strict > keeps the lowest index on ties.
      int64_t best_atom = -1;
      double best_magnitude = -1.0;
      for (int64_t i = 0; i < k; ++i) {
        if (!kept[i] && std::abs(c[i][j]) > best_magnitude) {
          best_magnitude = std::abs(c[i][j]);
          best_atom = i;
        }
      }
      kept[best_atom] = true;
      dense[best_atom][j] = c[best_atom][j];
    }
  }
  return dense_k_m;
}

at::Tensor naive_procrustes(const at::Tensor& targets, const at::Tensor& coefficients_k_m) {
  check_matrix("naive_procrustes", "targets", targets);
  check_matrix("naive_procrustes", "coefficients", coefficients_k_m);
  TORCH_CHECK(targets.size(1) == coefficients_k_m.size(1), "naive_procrustes: targets have ", targets.size(1),
              " columns, coefficients have ", coefficients_k_m.size(1));
  TORCH_CHECK(coefficients_k_m.size(0) <= targets.size(0), "naive_procrustes: k = ", coefficients_k_m.size(0),
              " exceeds n = ", targets.size(0), "; an orthonormal dictionary needs k <= n");
  at::Tensor cross_n_k = at::matmul(targets, coefficients_k_m.t());  // W Sᵀ
  auto [p_n_k, sigma, qt_k_k] = at::linalg_svd(cross_n_k, /*full_matrices=*/false);
  return at::matmul(p_n_k, qt_k_k);  // P Qᵀ
}

}  // namespace lmshrink::reference
