// The whitened problem of one sparse-dictionary fit and the layers it produces, shared by CoSpaDi and COMPOT
// (ALGORITHMS.md §2 "Objective", "Grouped (cross-layer) variant, A.4", §8.3). A group of m layers with the
// same input width shares one dictionary: with the averaged Gram Ḡ = (1/m) Σ G_l = S Sᵀ (Cholesky, whitening.h),
// the fit is on W_L = Sᵀ [W_1 … W_m] (columns concatenated), D_a = S⁻ᵀ D_L de-whitens the dictionary, and the
// coefficient columns are sliced back per layer. m = 1 is the per-layer method. The first layer of a group
// stores and counts the dictionary; the others reference it by name.
#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lmshrink/compress/cospadi.h"
#include "lmshrink/model/dict_sparse.h"

namespace lmshrink {

struct DictProblem {
  at::Tensor lower;     // S [n, n] float64, Ḡ (+ shift) = S Sᵀ
  at::Tensor whitened;  // W_L = Sᵀ [W_1 … W_m], float64 [n, Σ out]
  double gram_shift = 0.0;
  double weight_energy = 0.0;  // ‖W_L‖² (the objective of D = 0), for relative errors
};

// layers: the group's linears (same in_features); grams: their inputs' XᵀX, float64 [n, n].
DictProblem whiten_group(const std::vector<const Linear*>& layers, const std::vector<at::Tensor>& grams);

struct FactorQuantization {
  int bits = 0;              // 0: float32 factors; 8 or 4: RTN (quantized_tensor.h)
  int64_t group_size = 128;
};

// The DictSparse layers of a fitted group, in order; names[0] owns the dictionary.
std::vector<std::unique_ptr<DictSparseLinear>> make_group_layers(const DictProblem& problem, const DictFit& fit,
                                                                 const std::vector<const Linear*>& layers,
                                                                 const std::vector<std::string>& names,
                                                                 const FactorQuantization& quantization);

// Half-open layer ranges of the dictionary groups: [0, N), [N, 2N), ...; the last may be shorter.
std::vector<std::pair<int64_t, int64_t>> group_windows(int64_t num_layers, int64_t groups);

struct CompressedLayer;
struct DictionaryOptions;
struct DictSize;
struct LayerStats;
enum class Method;
// One projection of a dictionary group (one layer unless dictionary.groups > 1) through cospadi (K-SVD) or compot:
// whitened with the group's Grams, one dictionary of size.atoms atoms fitted, and a DictSparse layer per slot (the
// first owns the dictionary). Replaces the slots and returns their records (compress_result.h); ratio: the plan's.
std::vector<CompressedLayer> compress_dict_group(std::vector<std::unique_ptr<Linear>*> slots, const std::vector<std::string>& names,
                                                 const std::vector<const LayerStats*>& stats, Method method,
                                                 const DictionaryOptions& options, DictSize size, double ratio);

}  // namespace lmshrink
