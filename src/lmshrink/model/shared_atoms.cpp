// SharedAtomsLinear (see shared_atoms.h): W_l = Σ_s c_ls D_s (+ (A B)ᵀ), synthesized once or mixed per forward.
#include "lmshrink/model/shared_atoms.h"

#include "lmshrink/util/error.h"

namespace lmshrink {

AtomMix parse_atom_mix(const std::string& name) {
  if (name == "synthesize") return AtomMix::kSynthesize;
  if (name == "runtime") return AtomMix::kRuntime;
  fail("masa_mix: expected synthesize or runtime, got '", name, "'");
}

std::string atom_mix_name(AtomMix mix) { return mix == AtomMix::kSynthesize ? "synthesize" : "runtime"; }

SharedAtomsLinear::SharedAtomsLinear(std::shared_ptr<AtomBank> bank, int64_t index, AtomMix mix, at::Tensor residual_a,
                                     at::Tensor residual_b, at::Tensor bias)
    : bank_(std::move(bank)), index_(index), mix_(mix), residual_a_(row_major(residual_a)),
      residual_b_(row_major(residual_b)), bias_(std::move(bias)) {
  LMSHRINK_CHECK(bank_ && bank_->atoms.dim() == 3 && bank_->atoms.size(0) >= 1, "shared atoms: the bank must hold atoms [S, out, in] with S >= 1");
  LMSHRINK_CHECK(bank_->coefficients.dim() == 2 && bank_->coefficients.size(1) == bank_->atoms.size(0),
                 "shared atoms: coefficients must be [layers, ", bank_->atoms.size(0), "], got ", bank_->coefficients.sizes());
  LMSHRINK_CHECK(index_ >= 0 && index_ < bank_->coefficients.size(0), "shared atoms: layer index ", index_,
                 " outside the group's ", bank_->coefficients.size(0), " layers");
  LMSHRINK_CHECK(residual_a_.defined() == residual_b_.defined(), "shared atoms: residual needs both A and B");
  if (residual_a_.defined()) {
    LMSHRINK_CHECK(residual_a_.dim() == 2 && residual_b_.dim() == 2 && residual_a_.size(0) == in_features() &&
                       residual_b_.size(1) == out_features() && residual_a_.size(1) == residual_b_.size(0) &&
                       residual_a_.size(1) >= 1,
                   "shared atoms: residual factors must be A [", in_features(), ", r] and B [r, ", out_features(),
                   "], got ", residual_a_.sizes(), " and ", residual_b_.sizes());
  }
  LMSHRINK_CHECK(!bias_.defined() || (bias_.dim() == 1 && bias_.size(0) == out_features()), "shared atoms: bias must be [",
                 out_features(), "]");
  set_mix(mix_);
}

at::Tensor SharedAtomsLinear::mixed_weight() const {
  const at::Tensor& atoms = bank_->atoms;
  at::Tensor c = bank_->coefficients.select(0, index_).to(atoms.scalar_type());  // [S]
  return torch::matmul(c.unsqueeze(0), atoms.reshape({atoms.size(0), -1})).view({atoms.size(1), atoms.size(2)});
}

void SharedAtomsLinear::set_mix(AtomMix mix) {
  mix_ = mix;
  synthesized_ = at::Tensor();
  if (mix_ != AtomMix::kSynthesize) return;
  torch::NoGradGuard no_grad;
  synthesized_ = dense().contiguous();
}

at::Tensor SharedAtomsLinear::forward(const at::Tensor& x) const {
  if (mix_ == AtomMix::kSynthesize) return torch::nn::functional::linear(x, synthesized_, bias_);
  at::Tensor y = torch::nn::functional::linear(x, mixed_weight(), bias_);
  if (residual_a_.defined()) y = y + torch::matmul(torch::matmul(x, residual_a_), residual_b_);
  return y;
}

at::Tensor SharedAtomsLinear::dense() const {
  if (mix_ == AtomMix::kSynthesize && synthesized_.defined()) return synthesized_;
  at::Tensor w = mixed_weight();
  if (residual_a_.defined()) w = w + torch::matmul(residual_a_, residual_b_).t();
  return w;
}

ParamCount SharedAtomsLinear::params() const {
  ParamCount count;
  auto add = [&count](const at::Tensor& t, int64_t numel) {
    count.values += numel;
    count.bytes += numel * static_cast<int64_t>(t.element_size());
  };
  if (owns_bank()) add(bank_->atoms, bank_->atoms.numel());
  add(bank_->coefficients, bank_->num_atoms());  // this layer's row
  if (residual_a_.defined()) {
    add(residual_a_, residual_a_.numel());
    add(residual_b_, residual_b_.numel());
  }
  if (bias_.defined()) add(bias_, bias_.numel());
  return count;
}

}  // namespace lmshrink
