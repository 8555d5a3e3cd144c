// SharedAtomsLinear: MASA's shared matrix atoms (Zhussip et al., "Share Your Attention: Transformer Weight Sharing
// via Matrix-based Dictionary Learning", AAAI'26; ALGORITHMS.md §5, §8.7 MASA{atoms, coeff}). The weights of one
// projection type over a group of consecutive layers are W_l ≈ Σ_s c_ls D_s (+ R_l): an atom bank D [S, out, in]
// (each atom weight-shaped, HF [out, in] orientation) and a coefficient matrix C [layers, S], both held once per
// group in an AtomBank that every layer of the group shares; layer l uses row l of C. R_l = (A_l B_l)ᵀ is an
// optional per-layer low-rank residual (A [in, r], B [r, out]; post-hoc MASA's whitened local refinement).
// Two ways to run (Mix):
//   synthesize (default): W_l is formed once, when the layer is built, and the forward is one dense matmul;
//   runtime: W_l is mixed from the bank at every forward (autograd flows to atoms and coefficients: training).
// Accounting: the group's first layer (index 0) stores and counts the atoms [S·out·in]; every layer counts its
// own S coefficients and its residual, so a group costs S·out·in + layers·S (+ residuals), atoms counted once.
#pragma once
#include <memory>
#include <string>

#include "lmshrink/model/linear.h"

namespace lmshrink {

struct AtomBank {
  at::Tensor atoms;         // [S, out, in] float32, shared by the group's layers
  at::Tensor coefficients;  // [layers, S] float32; training replaces it by its coefficient MLP's output each step
  std::string owner;        // the layer that stores the bank in a checkpoint: the group's first layer
  int64_t num_atoms() const { return atoms.size(0); }
  int64_t num_layers() const { return coefficients.size(0); }
};

enum class AtomMix { kSynthesize, kRuntime };
AtomMix parse_atom_mix(const std::string& name);  // "synthesize" or "runtime"; throws lmshrink::Error otherwise
std::string atom_mix_name(AtomMix mix);

class SharedAtomsLinear : public Linear {
 public:
  // index: this layer's row of bank->coefficients. residual_a [in, r], residual_b [r, out], both or neither.
  SharedAtomsLinear(std::shared_ptr<AtomBank> bank, int64_t index, AtomMix mix, at::Tensor residual_a = at::Tensor(),
                    at::Tensor residual_b = at::Tensor(), at::Tensor bias = at::Tensor());
  at::Tensor forward(const at::Tensor& x) const override;
  at::Tensor dense() const override;  // Σ_s c_ls D_s + (A B)ᵀ: [out, in]
  ParamCount params() const override;
  std::string format() const override { return "sharedatoms"; }
  int64_t in_features() const override { return bank_->atoms.size(2); }
  int64_t out_features() const override { return bank_->atoms.size(1); }
  const at::Tensor& bias() const override { return bias_; }

  const std::shared_ptr<AtomBank>& bank() const { return bank_; }
  int64_t index() const { return index_; }
  bool owns_bank() const { return index_ == 0; }  // the group's first layer stores and counts the atoms
  int64_t residual_rank() const { return residual_a_.defined() ? residual_a_.size(1) : 0; }
  const at::Tensor& residual_a() const { return residual_a_; }
  const at::Tensor& residual_b() const { return residual_b_; }
  AtomMix mix() const { return mix_; }
  // Switches mode; entering synthesize forms W_l from the bank as it is now (call again after the bank changes).
  void set_mix(AtomMix mix);

 private:
  at::Tensor mixed_weight() const;  // Σ_s c_ls D_s [out, in] from the bank, differentiable
  std::shared_ptr<AtomBank> bank_;
  int64_t index_;
  AtomMix mix_;
  at::Tensor residual_a_, residual_b_, bias_;
  at::Tensor synthesized_;  // [out, in], synthesize mode only (residual folded in)
};

}  // namespace lmshrink
