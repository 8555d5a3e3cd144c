// MASA post-hoc: Matrix PCA over layers, logit-lens grouping, whitened low-rank residuals (see masa.h).
#include "lmshrink/util/stopwatch.h"
#include "lmshrink/compress/masa.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "lmshrink/calib/streaming.h"
#include "lmshrink/model/projections.h"
#include "lmshrink/compress/svd_llm.h"
#include "lmshrink/model/shared_atoms.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"

namespace lmshrink {

MatrixPca matrix_pca(const std::vector<at::Tensor>& weights_out_in, int64_t num_atoms) {
  int64_t layers = static_cast<int64_t>(weights_out_in.size());
  LMSHRINK_CHECK(layers >= 1, "MASA: no weights to share");
  LMSHRINK_CHECK(num_atoms >= 1 && num_atoms <= layers, "MASA: ", num_atoms, " atoms for a group of ", layers,
                 " layers: need 1 <= S <= ", layers, " (S = 0 keeps nothing; S > L cannot be orthonormal in the span of L weights)");
  at::IntArrayRef shape = weights_out_in[0].sizes();
  std::vector<at::Tensor> rows;
  for (int64_t l = 0; l < layers; ++l) {
    LMSHRINK_CHECK(weights_out_in[l].sizes() == shape, "MASA: weight ", l, " of the group is ", weights_out_in[l].sizes(),
                   ", weight 0 is ", shape, " (shared atoms need one shape)");
    rows.push_back(weights_out_in[l].to(torch::kCPU, torch::kFloat64).reshape({-1}));
  }
  at::Tensor w = torch::stack(rows);        // [L, d], row l = vec W_l
  at::Tensor gram = torch::matmul(w, w.t());  // K_ij = <W_i, W_j>_F, [L, L]
  auto [values, vectors] = at::linalg_eigh((gram + gram.t()) / 2);  // ascending
  values = values.flip(0);
  vectors = vectors.flip(1);
  at::Tensor top = values.narrow(0, 0, num_atoms);
  double largest = values[0].item<double>(), smallest_kept = top[num_atoms - 1].item<double>();
  LMSHRINK_CHECK(largest > 0 && smallest_kept > 1e-12 * largest, "MASA: the group's weights span fewer than ", num_atoms,
                 " dimensions (eigenvalue ", num_atoms, " of their Gram is ", smallest_kept, "); use fewer atoms");
  MatrixPca pca;
  at::Tensor mixing = vectors.narrow(1, 0, num_atoms) / top.sqrt().unsqueeze(0);  // V_S Λ_S^{-1/2}, [L, S]
  at::Tensor atoms_flat = torch::matmul(mixing.t(), w);                            // D_s = Σ_l V_ls W_l / √λ_s
  pca.atoms = atoms_flat.view({num_atoms, shape[0], shape[1]});
  pca.coefficients = torch::matmul(w, atoms_flat.t());                             // c_ls = <D_s, W_l>
  pca.eigenvalues = values;
  pca.discarded = values.narrow(0, num_atoms, layers - num_atoms).sum().item<double>();
  return pca;
}

std::vector<double> logit_lens_drift(const Transformer& model, const std::vector<at::Tensor>& block_means) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> log_probs;
  for (const at::Tensor& mean : block_means) {
    at::Tensor logits = model.head(mean.to(torch::kFloat32).view({1, 1, -1})).view({-1});
    log_probs.push_back(torch::log_softmax(logits.to(torch::kFloat64), 0));
  }
  std::vector<double> drift;
  for (size_t l = 0; l + 1 < log_probs.size(); ++l) {
    drift.push_back((log_probs[l].exp() * (log_probs[l] - log_probs[l + 1])).sum().item<double>());
  }
  return drift;
}

namespace {

// Cuts after layer i (between i and i + 1) taken in order of decreasing drift, skipping any that would leave a
// group of one layer, until `wanted` cuts are taken.
std::vector<int64_t> choose_cuts(const std::vector<double>& drift, int64_t num_layers, const std::vector<int64_t>& candidates,
                                 int64_t wanted) {
  std::vector<int64_t> cuts;
  for (int64_t cut : candidates) {
    if (static_cast<int64_t>(cuts.size()) == wanted) break;
    std::vector<int64_t> trial = cuts;
    trial.push_back(cut);
    std::sort(trial.begin(), trial.end());
    int64_t start = 0;
    bool ok = true;
    for (int64_t c : trial) {
      ok = ok && c + 1 - start >= 2;
      start = c + 1;
    }
    if (ok && num_layers - start >= 2) cuts = trial;
  }
  return cuts;
}

}  // namespace

std::vector<std::pair<int64_t, int64_t>> masa_groups(const std::vector<double>& drift, int64_t num_layers,
                                                     int64_t groups_spec) {
  bool automatic = groups_spec == MasaOptions::kAuto;
  int64_t wanted = 0;
  std::vector<int64_t> candidates;
  for (int64_t i = 0; i + 1 < num_layers; ++i) candidates.push_back(i);
  if (groups_spec != 1) {
    LMSHRINK_CHECK(static_cast<int64_t>(drift.size()) == num_layers - 1, "MASA grouping: need ", num_layers - 1,
                   " logit-lens drifts, got ", drift.size());
    std::sort(candidates.begin(), candidates.end(), [&](int64_t a, int64_t b) { return drift[a] > drift[b]; });
  }
  if (automatic) {
    std::vector<double> sorted = drift;
    std::sort(sorted.begin(), sorted.end());
    double median = sorted.empty() ? 0.0 : sorted[sorted.size() / 2];
    candidates.erase(std::remove_if(candidates.begin(), candidates.end(), [&](int64_t c) { return drift[c] <= 2 * median; }),
                     candidates.end());
    wanted = num_layers;  // as many as pass the threshold
  } else {
    int64_t groups = groups_spec;
    LMSHRINK_CHECK(groups >= 1 && (groups == 1 || 2 * groups <= num_layers), "masa.groups ", groups, ": ", num_layers,
                   " layers form 1 to ", std::max<int64_t>(1, num_layers / 2), " groups of at least 2 layers");
    wanted = groups - 1;
  }
  std::vector<int64_t> cuts = choose_cuts(drift, num_layers, candidates, wanted);
  LMSHRINK_CHECK(automatic || static_cast<int64_t>(cuts.size()) == wanted, "masa.groups ", groups_spec,
                 ": no way to cut ", num_layers, " layers into groups of at least 2");
  std::vector<std::pair<int64_t, int64_t>> groups;
  int64_t start = 0;
  for (int64_t c : cuts) {
    groups.push_back({start, c + 1});
    start = c + 1;
  }
  groups.push_back({start, num_layers});
  return groups;
}

void check_masa_shapes(const Transformer& model, const std::vector<std::string>& projections) {
  for (const std::string& projection : projections) {
    const Linear& first = projection_layer(model, 0, projection);
    for (int64_t l = 1; l < model.config().num_layers; ++l) {
      const Linear& layer = projection_layer(model, l, projection);
      LMSHRINK_CHECK(layer.out_features() == first.out_features() && layer.in_features() == first.in_features(),
                     "MASA shares each attention projection across layers, but ", projection_layer_name(l, projection), " is [",
                     layer.out_features(), ", ", layer.in_features(), "] while ", projection_layer_name(0, projection), " is [",
                     first.out_features(), ", ", first.in_features(), "]");
    }
  }
}

int64_t masa_residual_rank(const Transformer& model, const std::string& projection, int64_t rank_spec) {
  if (rank_spec == MasaOptions::kAuto) return -1;
  int64_t rank = rank_spec;
  LMSHRINK_CHECK(rank >= 0, "masa.residual_rank: expected 0, a rank or auto, got ", rank_spec);
  if (rank == 0) return 0;
  const Linear& layer = projection_layer(model, 0, projection);
  int64_t q_out = projection_layer(model, 0, "q_proj").out_features();
  if (projection == "k_proj" || projection == "v_proj") rank = (rank * layer.out_features() + q_out - 1) / q_out;
  return std::min({rank, layer.in_features(), layer.out_features()});
}

int64_t masa_atoms_for_ratio(int64_t out, int64_t in, int64_t layers, double ratio, int64_t residual_rank,
                             const std::string& what) {
  LMSHRINK_CHECK(ratio > 0.0 && ratio < 1.0, "ratio: expected a fraction in (0, 1), got ", ratio);
  double d = static_cast<double>(out * in), n = static_cast<double>(layers);
  double kept = (1.0 - ratio) * n * d - n * static_cast<double>(residual_rank * (in + out));
  int64_t atoms = static_cast<int64_t>(std::floor(kept / (d + n)));
  LMSHRINK_CHECK(atoms >= 1, what, ": ratio ", ratio, " leaves no atom (S = 0) for a group of ", layers, " layers",
                 residual_rank > 0 ? str_cat(" with residual rank ", residual_rank) : std::string(),
                 " (a group of L layers needs ratio <= 1 - (d + L) / (L d) for one atom, d = ", out * in, ")");
  return atoms;
}

bool masa_needs_calibration(const CompressOptions& options) {
  return options.masa.residual_rank != 0 || options.masa.groups != 1;
}

void check_masa_options(const Transformer& model, const CompressOptions& options) {
  const MasaOptions& m = options.masa;
  for (const std::string& p : options.targets) {
    LMSHRINK_CHECK(projection_input(p) == LinearInput::kQkv || p == "o_proj", "targets: method masa shares attention "
                   "projections (q, k, v, o) only, not ", p, " (use attn or a subset of q,k,v,o)");
  }
  check_masa_shapes(model, options.targets);
  LMSHRINK_CHECK(options.mode == Mode::kOneShot, "mode: method masa uses one-shot statistics; use one-shot");
  LMSHRINK_CHECK(options.dictionary.alloc == Alloc::kUniform, "dictionary.alloc: masa sizes every group by ratio (uniform)");
  LMSHRINK_CHECK(options.dictionary.groups == 1, "dictionary.groups applies to cospadi and compot; masa groups layers with "
                 "masa.groups");
  LMSHRINK_CHECK(options.dictionary.quantize_bits == 0, "dictionary.quantize_bits: masa atoms are not quantized by this version");
  LMSHRINK_CHECK(m.atoms >= 0, "masa.atoms: expected S >= 1, got ", m.atoms);
  LMSHRINK_CHECK((options.ratio > 0) != (m.atoms > 0), "method masa: give exactly one of ratio and masa.atoms");
  LMSHRINK_CHECK(m.atoms == 0 || m.residual_rank != MasaOptions::kAuto,
                 "masa.residual_rank auto fills the ratio budget; give a rank with masa.atoms");
  atom_mix_name(m.mix);
  int64_t num_layers = model.config().num_layers;
  std::vector<double> flat(static_cast<size_t>(std::max<int64_t>(0, num_layers - 1)), 1.0);
  std::vector<std::pair<int64_t, int64_t>> groups = masa_groups(flat, num_layers, m.groups);  // spec check
  for (const std::string& p : options.targets) {
    int64_t rank = masa_residual_rank(model, p, m.residual_rank);
    const Linear& layer = projection_layer(model, 0, p);
    for (auto [first, last] : groups) {
      if (m.atoms > 0) {
        LMSHRINK_CHECK(m.atoms <= last - first, "masa.atoms ", m.atoms, " exceeds the ", last - first,
                       " layers of group [", first, ", ", last, "): S <= L (the atoms are orthonormal in the span of the weights)");
      } else if (m.groups != MasaOptions::kAuto) {  // auto groups are known after calibration
        masa_atoms_for_ratio(layer.out_features(), layer.in_features(), last - first, options.ratio, std::max<int64_t>(0, rank),
                             projection_layer_name(first, p));
      }
    }
  }
}

namespace {

using Clock = std::chrono::steady_clock;


// One pass over the calibration data: the one-shot Grams (unless cached) and each block's output mean (for grouping).
void masa_calibration(const Transformer& model, const at::Tensor& calib_tokens, const CompressOptions& options,
                      bool need_stats, bool need_means, std::vector<BlockStats>& stats, std::vector<at::Tensor>& means) {
  BlockStreamer streamer(model, calib_tokens, options.batch_size);
  for (int64_t l = 0; l < model.config().num_layers; ++l) {
    if (need_stats) {
      stats.push_back(streamer.collect_and_advance(l));
    } else {
      streamer.advance(l);
    }
    if (need_means) means.push_back(streamer.hidden().to(torch::kFloat64).mean(std::vector<int64_t>{0, 1}));
  }
}

// ‖X (W − Ŵ)‖² / ‖X W‖² with the layer's input Gram, float64; W, Ŵ [out, in].
struct GroupPlan {
  int64_t atoms = 0, rank = 0;
};

// S and the residual rank of one group: from masa.atoms or ratio; "auto" ranks fill what the atoms leave.
GroupPlan plan_group(const Linear& layer, int64_t layers, const CompressOptions& options, int64_t rank_spec,
                     const std::string& what) {
  int64_t out = layer.out_features(), in = layer.in_features();
  GroupPlan plan;
  plan.rank = std::max<int64_t>(0, rank_spec);
  plan.atoms = options.masa.atoms > 0 ? options.masa.atoms
                                      : masa_atoms_for_ratio(out, in, layers, options.ratio, plan.rank, what);
  if (rank_spec < 0) {
    double d = static_cast<double>(out * in), n = static_cast<double>(layers);
    double left = (1.0 - options.ratio) * n * d - static_cast<double>(plan.atoms) * (d + n);
    plan.rank = std::min({static_cast<int64_t>(std::floor(left / (n * static_cast<double>(in + out)))), in, out});
    plan.rank = std::max<int64_t>(0, plan.rank);
  }
  return plan;
}

// Replaces layers [first, last) of one projection by SharedAtoms layers of one bank; appends their records.
MasaGroupRecord share_group(Transformer& model, const std::string& projection, int64_t first, int64_t last,
                            const GroupPlan& plan, const std::vector<BlockStats>& stats, const CompressOptions& options,
                            CompressResult& result) {
  std::vector<at::Tensor> weights;
  for (int64_t l = first; l < last; ++l) weights.push_back(projection_layer(model, l, projection).dense());
  MatrixPca pca = matrix_pca(weights, plan.atoms);
  auto bank = std::make_shared<AtomBank>();
  bank->atoms = pca.atoms.to(torch::kFloat32).contiguous();
  bank->coefficients = pca.coefficients.to(torch::kFloat32).contiguous();
  bank->owner = projection_layer_name(first, projection);
  MasaGroupRecord group{projection, first, last, plan.atoms, plan.rank, 0.0, pca.discarded};
  AtomMix mix = options.masa.mix;
  for (int64_t l = first; l < last; ++l) {
    std::unique_ptr<Linear>& slot = projection_slot(model.mutable_blocks()[l], projection);
    at::Tensor w = weights[l - first].to(torch::kFloat64);
    group.energy += w.pow(2).sum().item<double>();
    at::Tensor shared = torch::matmul(pca.coefficients.select(0, l - first), pca.atoms.reshape({plan.atoms, -1})).view(w.sizes());
    const at::Tensor* gram = stats.empty() ? nullptr : &stats[l].of(projection_input(projection)).gram;
    at::Tensor a, b;
    if (plan.rank > 0) {
      LMSHRINK_CHECK(gram && gram->defined(), projection_layer_name(l, projection), ": no calibration Gram for the residual");
      SvdLlmResult residual = compress_svd_llm(DenseLinear((w - shared).to(torch::kFloat32)), gram->to(torch::kCPU), plan.rank);
      a = residual.layer->a();
      b = residual.layer->b();
    }
    auto layer = std::make_unique<SharedAtomsLinear>(bank, l - first, mix, a, b, slot->bias());
    CompressedLayer record = layer_record(projection_layer_name(l, projection), *slot, *layer, options.ratio);
    record.rank = plan.rank;
    record.atoms = plan.atoms;
    record.dictionary_owner = l == first ? "" : bank->owner;
    if (gram && gram->defined()) record.whitened_error = whitened_error(*slot, *layer, *gram);
    result.layers.push_back(record);
    slot = std::move(layer);
  }
  return group;
}

}  // namespace

void compress_masa(Transformer& model, const at::Tensor& calib_tokens, const CompressOptions& options,
                   const std::vector<BlockStats>* cached_stats, CompressResult& result) {
  check_masa_options(model, options);
  int64_t num_layers = model.config().num_layers;
  bool need_stats = options.masa.residual_rank != 0, need_means = options.masa.groups != 1;
  std::vector<BlockStats> streamed;
  std::vector<at::Tensor> means;
  Clock::time_point start = Clock::now();
  if ((need_stats && !cached_stats) || need_means) {
    LMSHRINK_CHECK(calib_tokens.defined() && calib_tokens.dim() == 2, "method masa with masa.residual_rank or "
                   "masa.groups needs calibration tokens");
    masa_calibration(model, calib_tokens, options, need_stats && !cached_stats, need_means, streamed, means);
  }
  const std::vector<BlockStats>& stats = cached_stats ? *cached_stats : streamed;  // Grams also give the records' errors
  if (need_means) result.masa_drift = logit_lens_drift(model, means);
  std::vector<std::pair<int64_t, int64_t>> groups = masa_groups(result.masa_drift, num_layers, options.masa.groups);
  result.calibration_seconds += seconds_since(start);
  start = Clock::now();
  Progress progress("masa", static_cast<int64_t>(options.targets.size() * groups.size()));
  torch::NoGradGuard no_grad;
  for (const std::string& projection : options.targets) {
    int64_t rank_spec = masa_residual_rank(model, projection, options.masa.residual_rank);
    for (auto [first, last] : groups) {
      std::string what = projection_layer_name(first, projection);
      GroupPlan plan = plan_group(projection_layer(model, first, projection), last - first, options, rank_spec, what);
      result.masa_groups.push_back(share_group(model, projection, first, last, plan, stats, options, result));
      progress.advance();
    }
  }
  progress.finish();
  result.decomposition_seconds += seconds_since(start);
}

}  // namespace lmshrink
