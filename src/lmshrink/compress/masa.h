// MASA post-hoc: Matrix Atom Sharing in Attention on a pretrained model (Zhussip et al., AAAI'26, "Matrix PCA",
// grouping and local refinement; ALGORITHMS.md §5). For each attention projection type P ∈ {q, k, v, o} and each
// group of consecutive layers:
//   1. Matrix PCA (uncentered): orthonormal atoms D_s (tr(D_iᵀ D_j) = δ_ij) minimising Σ_l ‖W_l − Σ_s <D_s, W_l> D_s‖²_F,
//      computed through the small L×L Gram K_ij = <W_i, W_j>_F = V Λ Vᵀ: D = W V_S Λ_S^{-1/2}, c_ls = <D_s, W_l>
//      (PCA duality). The squared reconstruction error is exactly Σ of the discarded eigenvalues of K.
//   2. Grouping (optional): a logit-lens probe maps each block's output hidden state, averaged over the calibration
//      tokens, through the model's final norm and lm_head to p_l = softmax(.); consecutive blocks with a small drift
//      KL(p_l ‖ p_{l+1}) share a group. The paper gives no threshold: masa.groups N cuts at the N − 1 largest drifts,
//      "auto" at every drift above twice their median; no cut may leave a group of one layer.
//   3. Residual (optional): ΔW_l = W_l − Ŵ_l approximated at rank r in the whitened space of the layer's input Gram
//      (SVD-LLM, svd_llm.h), R_l = L_l^{-1} U_r Σ_r V_rᵀ. Rank rule (lmshrink's; the paper's is in its missing
//      appendix): q and o get r, k and v get ceil(r · kv_out / q_out), so K/V get less under GQA.
// Budget: ratio γ is the fraction of the targeted ATTENTION projections' parameters removed. A group of L_g layers
// of a d = out·in projection keeps (1 − γ) L_g d values: S = floor(((1 − γ) L_g d − L_g r (in + out)) / (d + L_g)).
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lmshrink/calib/gram.h"
#include "lmshrink/compress/compress_options.h"
#include "lmshrink/compress/compress_result.h"
#include "lmshrink/model/transformer.h"

namespace lmshrink {

struct MatrixPca {
  at::Tensor atoms;         // [S, out, in] float64, orthonormal in the Frobenius inner product
  at::Tensor coefficients;  // [L, S] float64, c_ls = <D_s, W_l>_F
  at::Tensor eigenvalues;   // [L] float64, eigenvalues of K = [<W_i, W_j>_F], descending
  double discarded = 0.0;   // Σ of eigenvalues beyond the first S: Σ_l ‖W_l − Ŵ_l‖²_F
};

// weights: L matrices W_l [out, in] of one shape. Throws lmshrink::Error when S = 0 or S > L, or shapes differ.
MatrixPca matrix_pca(const std::vector<at::Tensor>& weights_out_in, int64_t num_atoms);

// Logit-lens drift: block_means[l] is block l's output hidden state averaged over tokens, [hidden]. Returns
// KL(p_l ‖ p_{l+1}) for l = 0 .. L − 2, p_l = softmax(lm_head(final_norm(block_means[l]))).
std::vector<double> logit_lens_drift(const Transformer& model, const std::vector<at::Tensor>& block_means);

// Half-open layer ranges [first, last) of the groups for a masa.groups spec (MasaOptions::kAuto or a count N >= 1).
std::vector<std::pair<int64_t, int64_t>> masa_groups(const std::vector<double>& drift, int64_t num_layers,
                                                     int64_t groups_spec);

// Throws lmshrink::Error naming the first layer whose projection's shape differs from layer 0's.
void check_masa_shapes(const Transformer& model, const std::vector<std::string>& projections);

// Residual ranks (q/o and k/v rule above) for a masa.residual_rank spec: 0, a rank, or MasaOptions::kAuto (returns −1:
// fill what the atoms leave of the budget, per projection and group).
int64_t masa_residual_rank(const Transformer& model, const std::string& projection, int64_t rank_spec);

// Atoms S of a group of `layers` layers of a [out, in] projection at ratio γ, with residual rank r per layer (not auto).
// Throws lmshrink::Error (naming `what`) when S would be 0.
int64_t masa_atoms_for_ratio(int64_t out, int64_t in, int64_t layers, double ratio, int64_t residual_rank,
                             const std::string& what);

// Whether a MASA run needs calibration data: for the residual's Grams or the grouping's logit lens.
bool masa_needs_calibration(const CompressOptions& options);
// Checks the MASA options against the model (attention targets only, equal shapes, group and residual specs, S or
// ratio) before any work.
void check_masa_options(const Transformer& model, const CompressOptions& options);
// Replaces every targeted attention projection by SharedAtomsLinear layers (compress_model's "masa" branch).
// calib_tokens: int64 [n, seq], used when masa_needs_calibration; cached_stats: one-shot Grams or null.
void compress_masa(Transformer& model, const at::Tensor& calib_tokens, const CompressOptions& options,
                   const std::vector<BlockStats>* cached_stats, CompressResult& result);

}  // namespace lmshrink
