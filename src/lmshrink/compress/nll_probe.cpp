// Measured ΔNLL and KL of every profile option (see nll_probe.h).
#include "lmshrink/compress/nll_probe.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <optional>

#include "lmshrink/calib/streaming.h"
#include "lmshrink/compress/compress_options.h"
#include "lmshrink/compress/compress_result.h"
#include "lmshrink/compress/rocket.h"
#include "lmshrink/model/linear.h"
#include "lmshrink/model/projections.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"

namespace lmshrink {

namespace {

struct ProbeScore {
  double loss = 0.0;  // mean next-token cross-entropy
  double kl = 0.0;    // mean KL(dense ‖ this model) of the next-token distributions (0 for the dense pass)
};

// Scores of the windows whose hidden states enter block `first` as `hidden` [n, seq, hidden]. dense_log_probs
// [n, seq − 1, vocab]: the dense model's, or undefined for the dense pass itself, which fills it.
ProbeScore score_from_block(const Transformer& model, int64_t first, const at::Tensor& hidden, const at::Tensor& windows,
                            int64_t batch_size, at::Tensor& dense_log_probs) {
  ProbeScore score;
  int64_t n = windows.size(0), seq = windows.size(1);
  bool dense_pass = !dense_log_probs.defined();
  std::vector<at::Tensor> filled;
  for (int64_t start = 0; start < n; start += batch_size) {
    int64_t count = std::min(batch_size, n - start);
    at::Tensor h = hidden.narrow(0, start, count);
    for (int64_t layer = first; layer < model.config().num_layers; ++layer) h = model.block_forward(layer, h, 0, nullptr);
    at::Tensor log_probs = torch::log_softmax(model.head(h).narrow(1, 0, seq - 1).to(torch::kFloat64), -1);
    at::Tensor targets = windows.narrow(0, start, count).narrow(1, 1, seq - 1).unsqueeze(-1);
    score.loss -= log_probs.gather(-1, targets).sum().item<double>();
    if (dense_pass) {
      filled.push_back(log_probs.to(torch::kFloat32));
    } else {
      at::Tensor dense = dense_log_probs.narrow(0, start, count).to(torch::kFloat64);
      score.kl += (dense.exp() * (dense - log_probs)).sum().item<double>();
    }
  }
  if (dense_pass) dense_log_probs = torch::cat(filled, 0);
  double positions = static_cast<double>(n * (seq - 1));
  return {score.loss / positions, score.kl / positions};
}

struct MatrixSlot {
  int64_t layer = 0;
  std::string projection;
};

std::map<std::string, MatrixSlot> matrix_slots(const Transformer& model) {
  std::map<std::string, MatrixSlot> slots;
  for (int64_t layer = 0; layer < model.config().num_layers; ++layer) {
    for (const std::string& projection : all_projections()) slots[projection_layer_name(layer, projection)] = {layer, projection};
  }
  return slots;
}

// Puts a slot's own layer back when the probe of its matrix ends, by return or by exception.
struct SlotRestore {
  std::unique_ptr<Linear>& slot;
  std::unique_ptr<Linear> original;
  ~SlotRestore() { slot = std::move(original); }
};

// One matrix: every compressed option applied alone, its loss measured, the dense layer restored.
void probe_matrix(Transformer& model, const MatrixSlot& where, MatrixProfile& matrix, const LayerStats& stats,
                  const at::Tensor& hidden, const at::Tensor& windows, double dense_loss, at::Tensor& dense_log_probs,
                  const RocketCompressOptions& rocket, int64_t quant_group, const NllProbeSettings& settings) {
  std::unique_ptr<Linear>& slot = projection_slot(model.mutable_blocks()[where.layer], where.projection);
  SlotRestore restore{slot, std::move(slot)};
  const Linear& original = *restore.original;
  at::Tensor weight = original.dense(), weight64 = weight.to(torch::kFloat64);
  double weight_norm = weight64.norm().item<double>();
  for (ProfileOption& option : matrix.options) {
    if (option.rate == 0.0) continue;
    std::unique_ptr<Linear> candidate = std::make_unique<DenseLinear>(weight, original.bias());
    CompressedLayer record =
        compress_rocket_layer(candidate, matrix.name, &stats, rocket, option, {option.bits, quant_group});
    slot = std::move(candidate);
    ProbeScore score = score_from_block(model, where.layer, hidden, windows, settings.batch_size, dense_log_probs);
    double delta = score.loss - dense_loss;
    option.weight_error =
        (slot->dense().to(torch::kFloat64) - weight64).norm().item<double>() / std::max(weight_norm, 1e-300);
    option.whitened_error = std::sqrt(std::max(record.whitened_error, 0.0));
    option.measured_nll = delta;
    option.measured_kl = score.kl;
    if (settings.cost == ProfileMetric::kKl) option.error = std::max(score.kl, 0.0);
    else option.error = settings.clamp_negative ? std::max(delta, 0.0) : delta;
  }
}

}  // namespace

void probe_profile_nll(Transformer& model, const at::Tensor& calib_tokens, std::vector<MatrixProfile>& profile,
                       const std::vector<BlockStats>* cached_stats, int64_t calib_batch, const RocketCompressOptions& rocket,
                       int64_t quant_group, const NllProbeSettings& settings) {
  torch::NoGradGuard no_grad;
  LMSHRINK_CHECK(calib_tokens.dim() == 2 && calib_tokens.size(1) >= 2, "nll probe: the calibration windows need at least 2 tokens");
  LMSHRINK_CHECK(settings.windows >= 1 && settings.batch_size >= 1, "nll probe: windows and batch size must be positive");
  at::Tensor windows = calib_tokens.narrow(0, 0, std::min(settings.windows, calib_tokens.size(0)));
  std::map<std::string, MatrixSlot> slots = matrix_slots(model);
  std::map<int64_t, std::vector<MatrixProfile*>> by_layer;
  for (MatrixProfile& m : profile) {
    auto found = slots.find(m.name);
    LMSHRINK_CHECK(found != slots.end(), "nll probe: the model has no matrix ", m.name);
    by_layer[found->second.layer].push_back(&m);
  }
  at::Tensor hidden = model.embed(windows);
  at::Tensor dense_log_probs;  // [windows, seq − 1, vocab], float32
  double dense_loss = score_from_block(model, 0, hidden, windows, settings.batch_size, dense_log_probs).loss;
  int64_t num_layers = model.config().num_layers;
  std::optional<BlockStreamer> streamer;
  if (!cached_stats) streamer.emplace(model, calib_tokens, calib_batch);
  Progress progress("nll probe", static_cast<int64_t>(profile.size()));
  for (int64_t layer = 0; layer < num_layers; ++layer) {
    BlockStats streamed;
    if (streamer) streamed = layer + 1 < num_layers ? streamer->collect_and_advance(layer) : streamer->collect(layer);
    const BlockStats& stats = cached_stats ? (*cached_stats)[layer] : streamed;
    auto matrices = by_layer.find(layer);
    if (matrices != by_layer.end()) {
      for (MatrixProfile* m : matrices->second) {
        const MatrixSlot& where = slots.at(m->name);
        probe_matrix(model, where, *m, stats.of(projection_input(where.projection)), hidden, windows, dense_loss, dense_log_probs, rocket,
                     quant_group, settings);
        progress.advance();
      }
    }
    hidden = model.block_forward(layer, hidden, 0, nullptr);
  }
  progress.finish();
}

double rank_correlation(const std::vector<double>& a, const std::vector<double>& b) {
  LMSHRINK_CHECK(a.size() == b.size(), "rank_correlation: series of different lengths");
  auto ranks = [](const std::vector<double>& x) {
    std::vector<size_t> order(x.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return x[i] < x[j]; });
    std::vector<double> rank(x.size());
    for (size_t i = 0; i < order.size();) {
      size_t j = i;
      while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) ++j;
      for (size_t k = i; k <= j; ++k) rank[order[k]] = 0.5 * static_cast<double>(i + j);  // average rank of the tie
      i = j + 1;
    }
    return rank;
  };
  if (a.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  std::vector<double> ra = ranks(a), rb = ranks(b);
  double mean = 0.5 * static_cast<double>(a.size() - 1), cov = 0.0, va = 0.0, vb = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    cov += (ra[i] - mean) * (rb[i] - mean);
    va += (ra[i] - mean) * (ra[i] - mean);
    vb += (rb[i] - mean) * (rb[i] - mean);
  }
  if (va == 0.0 || vb == 0.0) return std::numeric_limits<double>::quiet_NaN();
  return cov / std::sqrt(va * vb);
}

}  // namespace lmshrink
