// Whitened group problems and their DictSparse layers (see dict_group.h).
#include "lmshrink/compress/dict_group.h"

#include <algorithm>

#include "lmshrink/calib/gram.h"
#include "lmshrink/compress/compot.h"
#include "lmshrink/compress/compress_options.h"
#include "lmshrink/compress/compress_result.h"
#include "lmshrink/compress/whitening.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

DictProblem whiten_group(const std::vector<const Linear*>& layers, const std::vector<at::Tensor>& grams) {
  LMSHRINK_CHECK(!layers.empty() && layers.size() == grams.size(), "dictionary group: one Gram matrix per layer needed");
  int64_t n = layers[0]->in_features();
  std::vector<at::Tensor> weights_in_out;
  for (size_t l = 0; l < layers.size(); ++l) {
    LMSHRINK_CHECK(layers[l]->in_features() == n && grams[l].defined() && grams[l].size(0) == n,
                   "dictionary group: layer ", l, " has ", layers[l]->in_features(), " inputs (or a Gram of another size), "
                   "expected ", n);
    weights_in_out.push_back(layers[l]->dense().t().to(torch::kFloat64));
  }
  // One layer (ROCKET, ungrouped dictionaries) uses its Gram as it is: at an 8B down_proj a copy is 1.6 GB.
  at::Tensor mean_gram;
  if (layers.size() == 1) {
    mean_gram = grams[0].to(torch::kCPU, torch::kFloat64);
  } else {
    mean_gram = torch::zeros({n, n}, torch::kFloat64);
    for (const at::Tensor& gram : grams) mean_gram += gram.to(torch::kCPU, torch::kFloat64);
    mean_gram /= static_cast<double>(layers.size());
  }
  Whitening whitening = cholesky_whitening(mean_gram);
  DictProblem problem;
  problem.lower = whitening.lower;
  problem.gram_shift = whitening.shift;
  problem.whitened = torch::matmul(whitening.lower.t(), torch::cat(weights_in_out, 1)).contiguous();
  problem.weight_energy = problem.whitened.pow(2).sum().item<double>();
  return problem;
}

namespace {

Factor make_factor(const at::Tensor& value, const FactorQuantization& quantization) {
  if (quantization.bits == 0) return float_factor(value);
  return quantized_factor(value.to(torch::kFloat32), quantization.bits, quantization.group_size);
}

}  // namespace

std::vector<std::unique_ptr<DictSparseLinear>> make_group_layers(const DictProblem& problem, const DictFit& fit,
                                                                 const std::vector<const Linear*>& layers,
                                                                 const std::vector<std::string>& names,
                                                                 const FactorQuantization& quantization) {
  at::Tensor dictionary = at::linalg_solve_triangular(problem.lower.t(), fit.dictionary, /*upper=*/true);  // S⁻ᵀ D_L
  LMSHRINK_CHECK(torch::isfinite(dictionary).all().item<bool>(), names[0], ": non-finite dictionary (degenerate Gram)");
  Factor shared = make_factor(dictionary, quantization);
  std::vector<std::unique_ptr<DictSparseLinear>> result;
  int64_t offset = 0, k = fit.dictionary.size(1);
  for (size_t l = 0; l < layers.size(); ++l) {
    int64_t out = layers[l]->out_features();
    auto [rows, values] = sorted_support(fit.code.rows.narrow(1, offset, out), fit.code.values.narrow(1, offset, out), k);
    offset += out;
    result.push_back(std::make_unique<DictSparseLinear>(shared, rows, make_factor(values, quantization), layers[l]->bias(),
                                                        l == 0 ? "" : names[0]));
  }
  return result;
}

std::vector<std::pair<int64_t, int64_t>> group_windows(int64_t num_layers, int64_t groups) {
  std::vector<std::pair<int64_t, int64_t>> windows;
  for (int64_t first = 0; first < num_layers; first += groups) windows.push_back({first, std::min(num_layers, first + groups)});
  return windows;
}


namespace {

DictFit fit_dictionary(const DictProblem& problem, DictSize size, Method method, const DictionaryOptions& d) {
  if (method == Method::kCospadi) {  // iterations 0: the solver's own default (KsvdOptions, CompotOptions)
    KsvdOptions ksvd;
    ksvd.atoms = size.atoms, ksvd.nonzeros = size.nonzeros, ksvd.power_iterations = d.power_iterations;
    ksvd.omp_batch = d.omp_batch, ksvd.seed = d.seed;
    if (d.iterations > 0) ksvd.iterations = d.iterations;
    return fit_ksvd(problem.whitened, ksvd);
  }
  CompotOptions compot;
  compot.atoms = size.atoms, compot.nonzeros = size.nonzeros, compot.tolerance = d.tolerance;
  if (d.iterations > 0) compot.max_iterations = d.iterations;
  return fit_compot(problem.whitened, compot);
}

}  // namespace

std::vector<CompressedLayer> compress_dict_group(std::vector<std::unique_ptr<Linear>*> slots, const std::vector<std::string>& names,
                                                 const std::vector<const LayerStats*>& stats, Method method,
                                                 const DictionaryOptions& options, DictSize size, double ratio) {
  std::vector<const Linear*> layers;
  std::vector<at::Tensor> grams;
  for (size_t l = 0; l < slots.size(); ++l) {
    LMSHRINK_CHECK(stats[l], names[l], ": no calibration statistics for its input");
    stats[l]->check_accumulated(names[l]);
    layers.push_back(slots[l]->get());
    grams.push_back(stats[l]->gram);
  }
  DictProblem problem = whiten_group(layers, grams);
  DictFit fit = fit_dictionary(problem, size, method, options);
  auto compressed = make_group_layers(problem, fit, layers, names, {options.quantize_bits, options.quant_group});
  std::vector<CompressedLayer> records;
  for (size_t l = 0; l < slots.size(); ++l) {
    CompressedLayer record = layer_record(names[l], *layers[l], *compressed[l], ratio);
    record.atoms = size.atoms;
    record.nonzeros = size.nonzeros;
    record.dictionary_owner = compressed[l]->dictionary_owner();
    record.gram_shift = problem.gram_shift;
    record.whitened_error = whitened_error(*layers[l], *compressed[l], grams[l]);
    record.fit_iterations = method == Method::kCospadi ? static_cast<int64_t>(fit.objective.size()) / 2
                                                        : (static_cast<int64_t>(fit.objective.size()) - 1) / 2;
    records.push_back(record);
  }
  for (size_t l = 0; l < slots.size(); ++l) *slots[l] = std::move(compressed[l]);
  return records;
}

}  // namespace lmshrink
